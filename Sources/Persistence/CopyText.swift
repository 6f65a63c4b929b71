import NIOCore

/// Rows in `COPY … FROM STDIN` text format: tab-separated, `\N` for null, backslash escapes.
enum CopyText {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// One `entity_state` row: key, kind, state (bytea as `\x` hex), deadlines, version 1.
    static func append(_ row: EntityStateRepository.Row, to buffer: inout ByteBuffer) {
        appendText(row.key, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendText(row.kind, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        // `\\x` in the copy text is the bytea input `\x…` once COPY has undone its own escape.
        buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")])
        for byte in row.state {
            buffer.writeInteger(hexDigits[Int(byte >> 4)])
            buffer.writeInteger(hexDigits[Int(byte & 0x0f)])
        }
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendInteger(row.settleDeadlineMs, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendInteger(row.staleAtEventMs, to: &buffer)
        buffer.writeString("\t1\n")
    }

    private static func appendInteger(_ value: Int64?, to buffer: inout ByteBuffer) {
        if let value { buffer.writeString(String(value)) } else { buffer.writeString("\\N") }
    }

    /// Text with the characters COPY treats specially escaped.
    static func appendText(_ text: String, to buffer: inout ByteBuffer) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\t"): buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: "\n"): buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: buffer.writeInteger(byte)
            }
        }
    }
}
