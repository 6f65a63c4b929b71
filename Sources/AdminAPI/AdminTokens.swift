import Crypto
import Foundation
import Shared

/// The admin API's bearer tokens: one line per token, `<sha256 hex of the token> <actor id> <role>`;
/// `#` starts a comment. Only the hashes are kept.
public struct AdminTokens: Sendable {
    /// Who a token belongs to.
    public struct Actor: Sendable, Hashable {
        public var id: String
        public var role: Role
    }

    struct Entry: Sendable {
        var digest: [UInt8]
        var actor: Actor
    }

    /// A token file that could not be read, with the line at fault.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    let entries: [Entry]

    public init(entries: [(sha256Hex: String, actorId: String, role: Role)]) throws {
        self.entries = try entries.map { entry in
            guard let digest = Self.bytes(hex: entry.sha256Hex.lowercased()), digest.count == 32 else {
                throw Invalid(description: "token hash '\(entry.sha256Hex)' is not 64 hex digits")
            }
            return Entry(digest: digest, actor: Actor(id: entry.actorId, role: entry.role))
        }
    }

    /// No tokens: every request is answered 401.
    public static let none = try! AdminTokens(entries: [])

    /// Parses the token file's text.
    public static func parse(_ text: String) throws -> AdminTokens {
        var entries: [(String, String, Role)] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard !fields.isEmpty else { continue }
            guard fields.count == 3, let role = Role(rawValue: String(fields[2])) else {
                throw Invalid(
                    description: "token file line \(number + 1): expected '<sha256 hex> <actor id> <USER|ADMIN|SUPER_ADMIN>'")
            }
            entries.append((String(fields[0]), String(fields[1]), role))
        }
        do {
            return try AdminTokens(entries: entries)
        } catch let error as Invalid {
            throw error
        }
    }

    /// Reads and parses the token file at `path`.
    public static func load(path: String) throws -> AdminTokens {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "ASSURE_ADMIN_TOKENS=\(path): file not found or unreadable")
        }
        do {
            return try parse(String(decoding: data, as: UTF8.self))
        } catch let error as Invalid {
            throw Invalid(description: "ASSURE_ADMIN_TOKENS=\(path): \(error.description)")
        }
    }

    /// The actor of a bearer token; every entry is compared in constant time, so timing reveals nothing.
    public func actor(forToken token: String) -> Actor? {
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        var found: Actor?
        for entry in entries {
            var difference: UInt8 = 0
            for index in 0..<32 { difference |= entry.digest[index] ^ digest[index] }
            if difference == 0 { found = entry.actor }
        }
        return found
    }

    /// The SHA-256 hex of a token, for writing token files.
    public static func hash(token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: String) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        var index = 0
        while index < utf8.count {
            guard let byte = UInt8(String(decoding: utf8[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            result.append(byte)
            index += 2
        }
        return result
    }
}
