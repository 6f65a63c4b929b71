import Foundation

/// The Stripe events of an export file, for `assure-worker stripe-import`.
///
/// Accepts a page of `GET /v1/events` (`{"object": "list", "data": [...]}`), a JSON array of events,
/// or JSON Lines (one event per line; blank lines are ignored). An event must be a JSON object with
/// `id`, `type`, `created` and `data.object`; its customer is `data.object.customer` (an id or an
/// expanded object with an `id`).
public enum StripeEventFile {
    /// One element of the file.
    public enum Entry: Sendable, Hashable {
        /// A valid event, with the bytes to publish.
        case event(id: String, customerId: String, json: [UInt8])
        /// A valid event whose object names no customer: nothing to key it by, so it is not published.
        case withoutCustomer(id: String)
        /// Not a usable event; `position` is `line N` or `element N` (1-based).
        case invalid(position: String, reason: String)
    }

    /// The entries of a file, in file order.
    public static func read(_ data: Data) -> [Entry] {
        let text = data.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if let first = text.first, first == UInt8(ascii: "[") || first == UInt8(ascii: "{"),
            let whole = try? JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed])
        {
            if let array = whole as? [Any] { return elements(array) }
            if let page = whole as? [String: Any], page["object"] as? String == "list", let array = page["data"] as? [Any] {
                return elements(array)
            }
        }
        var entries: [Entry] = []
        var number = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            let trimmed = line.filter { $0 != 0x0D }
            guard trimmed.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            guard let value = try? JSONSerialization.jsonObject(with: Data(trimmed), options: [.fragmentsAllowed]) else {
                entries.append(.invalid(position: "line \(number)", reason: "not valid JSON"))
                continue
            }
            entries.append(entry(value, position: "line \(number)", json: Array(trimmed)))
        }
        return entries
    }

    private static func elements(_ array: [Any]) -> [Entry] {
        array.enumerated().map { index, value in
            let json = (try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes]))
                .map { Array($0) } ?? []
            return entry(value, position: "element \(index + 1)", json: json)
        }
    }

    private static func entry(_ value: Any, position: String, json: [UInt8]) -> Entry {
        guard let event = value as? [String: Any] else {
            return .invalid(position: position, reason: "not a JSON object")
        }
        guard let id = event["id"] as? String, !id.isEmpty else {
            return .invalid(position: position, reason: "missing 'id'")
        }
        guard event["type"] is String else { return .invalid(position: position, reason: "\(id): missing 'type'") }
        guard let created = event["created"], created is NSNumber || created is Int || created is Double else {
            return .invalid(position: position, reason: "\(id): missing 'created'")
        }
        guard let object = (event["data"] as? [String: Any])?["object"] as? [String: Any] else {
            return .invalid(position: position, reason: "\(id): missing 'data.object'")
        }
        let customer = object["customer"] as? String ?? (object["customer"] as? [String: Any])?["id"] as? String
        guard let customer, !customer.isEmpty else { return .withoutCustomer(id: id) }
        return .event(id: id, customerId: customer, json: json)
    }
}
