import Foundation
import Shared

/// Why a repair command could not be decoded, with whatever ids could be read so the caller can still
/// answer with a `rejected` / `invalid` result.
public struct CommandDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    /// `commandId`, when it was a string.
    public var commandId: String?
    /// `issueId`, when it was a string.
    public var issueId: String?

    public init(reason: String, commandId: String? = nil, issueId: String? = nil) {
        self.reason = reason
        self.commandId = commandId
        self.issueId = issueId
    }

    public var description: String { reason }
}

/// Decodes repair commands from `billing.assurance.commands.v1` (low volume: Foundation is fine here).
public enum CommandDecoder {
    /// Decodes one command, keeping `requestedAt` as the exact string sent (it is part of the signed text).
    /// Errors name the field that is wrong.
    public static func decode(_ bytes: [UInt8]) -> Result<RepairCommand, CommandDecodingError> {
        guard bytes.count <= maxCommandBytes else {
            return .failure(
                CommandDecodingError(reason: "command is \(bytes.count) bytes, over the limit of \(maxCommandBytes) bytes"))
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            return .failure(CommandDecodingError(reason: "command is not valid JSON"))
        }
        guard case .object(let fields) = value else {
            return .failure(CommandDecodingError(reason: "command is not a JSON object"))
        }
        // Ids that break the limits are not echoed: the result then carries `commandId: null`.
        let commandId = fields["commandId"]?.stringValue.flatMap {
            InputLimits.identifierProblem($0, field: "commandId") == nil ? $0 : nil
        }
        let issueId = fields["issueId"]?.stringValue.flatMap {
            InputLimits.identifierProblem($0, field: "issueId") == nil ? $0 : nil
        }
        func kind(_ v: JSONValue) -> String {
            switch v {
            case .null: "null"
            case .bool: "a boolean"
            case .int, .double: "a number"
            case .string: "a string"
            case .array: "an array"
            case .object: "an object"
            }
        }
        func requiredString(_ name: String, in object: [String: JSONValue], path: String = "") throws(Wrong) -> String {
            guard let v = object[name] else { throw Wrong("missing required field '\(path)\(name)'") }
            guard case .string(let s) = v else { throw Wrong("field '\(path)\(name)' must be a string, not \(kind(v))") }
            return s
        }
        func identifier(_ name: String, in object: [String: JSONValue], path: String = "") throws(Wrong) -> String {
            let s = try requiredString(name, in: object, path: path)
            if let problem = InputLimits.identifierProblem(s, field: path + name) { throw Wrong(problem) }
            return s
        }
        func text(_ name: String, in object: [String: JSONValue], path: String = "") throws(Wrong) -> String {
            let s = try requiredString(name, in: object, path: path)
            if let problem = InputLimits.textProblem(s, field: path + name) { throw Wrong(problem) }
            return s
        }

        do throws(Wrong) {
            let commandId = try identifier("commandId", in: fields)
            let issueId = try identifier("issueId", in: fields)
            let reason = try text("reason", in: fields)
            guard let actorValue = fields["actor"] else { throw Wrong("missing required field 'actor'") }
            guard case .object(let actorFields) = actorValue else {
                throw Wrong("field 'actor' must be an object, not \(kind(actorValue))")
            }
            let actor = CommandActor(
                id: try identifier("id", in: actorFields, path: "actor."),
                role: try text("role", in: actorFields, path: "actor."))
            let requestedAt = try text("requestedAt", in: fields)
            var dryRun: Bool?
            switch fields["dryRun"] {
            case nil, .null?: dryRun = nil
            case .bool(let b)?: dryRun = b
            case let other?: throw Wrong("field 'dryRun' must be a boolean, not \(kind(other))")
            }
            var action: CommandAction?
            switch fields["action"] {
            case nil, .null?: action = nil
            case .string(let s)?:
                guard let a = CommandAction(rawValue: s) else {
                    throw Wrong(
                        "field 'action' has unknown value \"\(quoted(s))\" (expected one of repair, explain, ack, snooze)")
                }
                action = a
            case let other?: throw Wrong("field 'action' must be a string, not \(kind(other))")
            }
            var until: String?
            switch fields["until"] {
            case nil, .null?: until = nil
            case .string(let s)?:
                if let problem = InputLimits.textProblem(s, field: "until") { throw Wrong(problem) }
                until = s
            case let other?: throw Wrong("field 'until' must be a string, not \(kind(other))")
            }
            if action == .snooze, until == nil { throw Wrong("missing required field 'until' (action snooze)") }
            let signature = try text("signature", in: fields)
            return .success(
                RepairCommand(
                    commandId: commandId, issueId: issueId, reason: reason, actor: actor, requestedAt: requestedAt,
                    dryRun: dryRun, action: action, until: until, signature: signature))
        } catch {
            return .failure(CommandDecodingError(reason: error.reason, commandId: commandId, issueId: issueId))
        }
    }

    /// Commands larger than this are refused before parsing.
    public static let maxCommandBytes = 1 << 20

    private struct Wrong: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
