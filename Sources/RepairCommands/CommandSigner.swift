import Crypto
import Shared

/// Signs and checks repair commands: lowercase hex HMAC-SHA256 over the contract's canonical text.
public struct CommandSigner: Sendable {
    // Raw bytes rather than `SymmetricKey`, which is not `Sendable`; a key is cheap to rebuild.
    private let keyBytes: [UInt8]

    public init(key: [UInt8]) { self.keyBytes = key }

    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// The signature of a command's canonical text.
    public func signature(for command: RepairCommand) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(command.signingText.utf8), using: key)
        return mac.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The command with its `signature` filled in.
    public func sign(_ command: RepairCommand) -> RepairCommand {
        var signed = command
        signed.signature = signature(for: command)
        return signed
    }

    /// Whether the command's signature is valid, compared in constant time.
    public func isValid(_ command: RepairCommand) -> Bool {
        guard let given = Self.bytes(fromHex: command.signature), given.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array(command.signingText.utf8), using: key)
    }

    static func bytes(fromHex text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            default: nil  // lowercase only, as the contract says
            }
        }
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
