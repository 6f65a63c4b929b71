import NIOCore

/// Rows in `COPY … FROM STDIN` text format: tab-separated, `\N` for null, backslash escapes.
///
/// On the batch path (every new entity state goes through here), so bytes are written in runs
/// rather than one `writeInteger` at a time: the per-byte writes cost about a tenth of the worker's
/// CPU under load (perf, issue 14).
enum CopyText {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// One `entity_state` row: key, kind, state (bytea as `\x` hex), deadlines, version 1.
    static func append(_ row: EntityStateRepository.Row, to buffer: inout ByteBuffer) {
        appendText(row.key, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendText(row.kind, to: &buffer)
        // `\\x` in the copy text is the bytea input `\x…` once COPY has undone its own escape.
        buffer.writeStaticString("\t\\\\x")
        appendHex(row.state, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendInteger(row.settleDeadlineMs, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendInteger(row.staleAtEventMs, to: &buffer)
        buffer.writeStaticString("\t1\n")
    }

    /// Lowercase hex of `bytes`, written in one go.
    static func appendHex(_ bytes: [UInt8], to buffer: inout ByteBuffer) {
        guard !bytes.isEmpty else { return }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count * 2) { target in
            hexDigits.withUnsafeBufferPointer { digits in
                bytes.withUnsafeBufferPointer { source in
                    var index = 0
                    for byte in source {
                        target[index] = digits[Int(byte >> 4)]
                        target[index + 1] = digits[Int(byte & 0x0f)]
                        index += 2
                    }
                    return index
                }
            }
        }
    }

    private static func appendInteger(_ value: Int64?, to buffer: inout ByteBuffer) {
        if let value { buffer.writeString(String(value)) } else { buffer.writeStaticString("\\N") }
    }

    /// Text with the characters COPY treats specially escaped.
    static func appendText(_ text: String, to buffer: inout ByteBuffer) {
        // Keys and kinds almost never need escaping: write them whole.
        if !text.utf8.contains(where: needsEscape) {
            buffer.writeString(text)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }
}
