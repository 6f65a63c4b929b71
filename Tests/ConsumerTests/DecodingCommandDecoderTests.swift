import Consumers
import Shared
import Testing

@Suite("Repair command decoding")
struct DecodingCommandDecoderTests {
    static let valid = """
        {"commandId": "cmd_1", "issueId": "credit-balance:user_123",
         "reason": "Reconciled after Stripe webhook replay review",
         "actor": {"id": "admin_7", "role": "ADMIN"},
         "requestedAt": "2026-11-20T10:00:00.120+00:00", "dryRun": false, "signature": "abc123", "extra": [1]}
        """

    static func decode(_ json: String) -> Result<RepairCommand, CommandDecodingError> {
        CommandDecoder.decode(Array(json.utf8))
    }

    @Test("a valid command decodes and keeps requestedAt exactly as sent")
    func valid_decodes_keepingRequestedAt() throws {
        let command = try Self.decode(Self.valid).get()
        #expect(command.commandId == "cmd_1")
        #expect(command.issueId == "credit-balance:user_123")
        #expect(command.reason == "Reconciled after Stripe webhook replay review")
        #expect(command.actor == CommandActor(id: "admin_7", role: "ADMIN"))
        #expect(command.requestedAt == "2026-11-20T10:00:00.120+00:00")
        #expect(command.dryRun == false)
        #expect(command.action == nil)
        #expect(command.signature == "abc123")
        #expect(command.signingMode == "apply")
    }

    @Test("action explain and a null dryRun decode")
    func explainAction_decodes() throws {
        let json = Self.valid.replacingFirst(#""dryRun": false"#, with: #""dryRun": null, "action": "explain""#)
        let command = try Self.decode(json).get()
        #expect(command.action == .explain)
        #expect(command.dryRun == nil)
        #expect(command.signingMode == "explain")
    }

    @Test(
        "each wrong command names the wrong field",
        arguments: [
            (#""commandId": "cmd_1","#, "", "missing required field 'commandId'"),
            (#""reason": "Reconciled after Stripe webhook replay review""#, #""reason": 5"#, "field 'reason' must be a string, not a number"),
            (#""role": "ADMIN""#, #""role": null"#, "field 'actor.role' must be a string, not null"),
            (#""id": "admin_7", "#, "", "missing required field 'actor.id'"),
            (#"{"id": "admin_7", "role": "ADMIN"}"#, #""admin_7""#, "field 'actor' must be an object, not a string"),
            (#""dryRun": false"#, #""dryRun": "no""#, "field 'dryRun' must be a boolean, not a string"),
            (#""dryRun": false"#, #""action": "delete""#, #"field 'action' has unknown value "delete" (expected one of repair, explain, ack, snooze)"#),
            (#""signature": "abc123""#, #""signature": ["x"]"#, "field 'signature' must be a string, not an array"),
            (#""requestedAt": "2026-11-20T10:00:00.120+00:00""#, #""requestedAt": 1763632800"#,
             "field 'requestedAt' must be a string, not a number"),
        ])
    func wrongField_isNamed(replace: String, with replacement: String, expected: String) {
        let json = Self.valid.replacingFirst(replace, with: replacement)
        #expect(json != Self.valid)
        guard case .failure(let error) = Self.decode(json) else {
            Issue.record("expected a failure for \(json)")
            return
        }
        #expect(error.reason == expected)
    }

    @Test("a failure keeps the ids it could read, so a rejection can still be published")
    func failure_keepsReadableIds() {
        guard case .failure(let error) = Self.decode(Self.valid.replacingFirst(#""signature": "abc123""#, with: #""x": 1"#))
        else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.reason == "missing required field 'signature'")
        #expect(error.commandId == "cmd_1")
        #expect(error.issueId == "credit-balance:user_123")
    }

    @Test("not JSON and not an object are refused")
    func notJSON_notObject_refused() {
        guard case .failure(let e1) = Self.decode("{\"commandId\": "), case .failure(let e2) = Self.decode("[1]") else {
            Issue.record("expected failures")
            return
        }
        #expect(e1.reason == "command is not valid JSON")
        #expect(e2.reason == "command is not a JSON object")
    }
}
