import Foundation
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Records and commands PostgreSQL refuses, against a real PostgreSQL: the record at fault is found and
/// dead-lettered (or the command answered), everything around it is processed once, nothing wedges.
///
/// The decoders keep every known bad value out (see `InputLimitsTests`), so these tests make PostgreSQL
/// refuse with a trigger, as a constraint of an operator's or a value no limit foresaw would.
@Suite struct PoisonIsolationTests {
    /// Makes PostgreSQL refuse (SQLSTATE 22023) every entity state of users whose id starts with `poison`,
    /// and fail with a serialization failure (40001) the first three writes of users starting with `flaky`.
    static func installRefusals(_ driver: DatabaseDriver) async throws {
        try await installRefusals(on: driver.database.client)
    }

    static func installRefusals(on client: PostgresClient) async throws {
        for statement in [
            "CREATE SEQUENCE assurance.test_flaky",
            """
            CREATE FUNCTION assurance.test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.key LIKE 'user:poison%' THEN
                    RAISE EXCEPTION 'test refuses %', NEW.key USING ERRCODE = '22023';
                END IF;
                IF NEW.key LIKE 'user:flaky%' AND nextval('assurance.test_flaky') <= 3 THEN
                    RAISE EXCEPTION 'test serialization failure' USING ERRCODE = '40001';
                END IF;
                RETURN NEW;
            END $$
            """,
            """
            CREATE TRIGGER test_refuse BEFORE INSERT OR UPDATE ON assurance.entity_state
            FOR EACH ROW EXECUTE FUNCTION assurance.test_refuse()
            """,
        ] {
            try await client.query(PostgresQuery(unsafeSQL: statement))
        }
    }

    static func ledgerRecord(_ topics: Topics, partition: Int32, offset: Int64, userId: String) -> InboundRecord {
        let value = #"{"id": "ctx_\#(userId)", "userId": "\#(userId)", "seq": 1, "type": "USAGE", "amount": -1, "balanceAfter": 9, "createdAt": "2026-11-20T10:00:00Z"}"#
        return InboundRecord(
            topic: topics.ledger, partition: partition, offset: offset, key: Array(userId.utf8), value: Array(value.utf8))
    }

    @Test func aRefusedRecordIsDeadLetteredWithTheDatabasesReasonAndTheRestCommitsOnce() async throws {
        try await DatabaseDriver.with { driver in
            try await Self.installRefusals(driver)
            let topics = driver.settings.topics
            // Four partitions of ten records; a refused record at offset 4 of each, valid ones behind it.
            var records: [InboundRecord] = []
            for partition in Int32(0)..<4 {
                for offset in Int64(0)..<10 {
                    let user = offset == 4 ? "poison_\(partition)" : "ok_\(partition)_\(offset)"
                    records.append(Self.ledgerRecord(topics, partition: partition, offset: offset, userId: user))
                }
            }
            let summary = try await driver.processor.process(records.shuffledByPartition())
            #expect(summary.deadLetters == 4)
            #expect(summary.applied == 36)
            let letters = try await driver.outbox(topic: topics.deadLetters)
            #expect(letters.count == 4)
            for message in letters {
                let letter = try JSONDecoder().decode(DeadLetter.self, from: Data(message.value ?? []))
                #expect(letter.error.contains("refused by the database"), "\(letter.error)")
                #expect(letter.error.contains("22023"), "\(letter.error)")
                #expect(letter.offset == 4)
                #expect(letter.key?.hasPrefix("poison_") == true)
                #expect(message.key == letter.key.map { Array($0.utf8) })
            }
            // Every valid record behind the refused one, on every partition, was applied.
            let users = try await driver.column(
                "SELECT count(*)::bigint FROM assurance.entity_state WHERE key LIKE 'user:ok_%'", as: Int64.self)
            #expect(users == [36])
            let offsets = try await driver.query(
                "SELECT partition, next_offset, applied, dead_letters FROM assurance.consumer_offsets WHERE topic = \(topics.ledger) ORDER BY partition",
                as: (Int32, Int64, Int64, Int64).self)
            #expect(offsets.map(\.1) == [10, 10, 10, 10])
            #expect(offsets.map(\.2) == [9, 9, 9, 9])
            #expect(offsets.map(\.3) == [1, 1, 1, 1])
            // A redelivery of the whole batch changes nothing: exactly once.
            let again = try await driver.processor.process(records)
            #expect(again.applied == 0)
            #expect(again.deadLetters == 0)
            #expect(try await driver.outbox(topic: topics.deadLetters).count == 4)
        }
    }

    @Test func transientFailuresAreRetriedAndNeverDeadLettered() async throws {
        try await DatabaseDriver.with { driver in
            try await Self.installRefusals(driver)
            let topics = driver.settings.topics
            let records = (Int64(0)..<5).map {
                Self.ledgerRecord(topics, partition: 0, offset: $0, userId: $0 == 2 ? "flaky_1" : "ok_\($0)")
            }
            let summary = try await driver.processor.process(records)
            #expect(summary.deadLetters == 0)
            #expect(summary.applied == 5)
            #expect(try await driver.outbox(topic: topics.deadLetters).isEmpty)
        }
    }

    @Test func anUnsignedCommandWithANulCommandIdIsAnsweredUnderItsOwnKeyAndNotRemembered() async throws {
        try await DatabaseDriver.with { driver in
            let value = #"{"commandId": "c\u0000", "issueId": "credit-balance:u", "reason": "x", "actor": {"id": "a", "role": "ADMIN"}, "requestedAt": "2026-11-20T10:00:00Z", "signature": ""}"#
            let result = try await driver.commandBytes(Array(value.utf8), key: "record-key")
            #expect(result.commandId.isEmpty)
            #expect(result.outcome == .rejected)
            #expect(result.rejection == .invalid)
            #expect(result.detail == "field 'commandId' must not contain U+0000")
            let message = try #require(try await driver.outbox(topic: driver.settings.topics.repairs).last)
            #expect(message.key == Array("record-key".utf8))
            let json = try #require(try JSONSerialization.jsonObject(with: Data(message.value ?? [])) as? [String: Any])
            #expect(json["commandId"] is NSNull)
            #expect(try await driver.column("SELECT count(*)::bigint FROM assurance.processed_commands", as: Int64.self) == [0])
        }
    }

    /// A user whose account disagrees with the ledger, in the stream and in the billing tables.
    static func seedMismatch(_ driver: DatabaseDriver, userId: String, seq: Int64, extraRows: String = "") async throws
        -> String
    {
        let t = Timestamp.format(driver.clock.now - 1000)
        let ledger = #"{"id": "ctx_\#(userId)", "userId": "\#(userId)", "seq": \#(seq), "type": "ADJUSTMENT", "amount": 100, "balanceAfter": 100, "createdAt": "\#(t)"}"#
        let account = #"{"userId": "\#(userId)", "role": "USER", "tier": "FREE", "credits": 50, "updatedAt": "\#(t)"}"#
        try await driver.consume([
            OutboundMessage(topic: driver.settings.topics.ledger, key: userId, value: ledger),
            OutboundMessage(topic: driver.settings.topics.accounts, key: userId, value: account),
        ])
        try await driver.database.client.query(
            "INSERT INTO users (id, role, tier, credits, unlimited_credits, version) VALUES (\(userId), 'USER', 'FREE', 50, false, 1)")
        try await driver.database.client.query(
            "INSERT INTO credit_transactions (id, user_id, seq, type, amount, balance_after) VALUES (\("ctx_" + userId), \(userId), \(seq), 'ADJUSTMENT', 100, 100)")
        if !extraRows.isEmpty { try await driver.database.client.query(PostgresQuery(unsafeSQL: extraRows)) }
        try await driver.settle()
        let id = "credit-balance:\(userId)"
        #expect(try await driver.issue(id)?.status == .open)
        return id
    }

    @Test func aRepairOnALedgerAtSeqInt64MaxFailsWithADetail() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await Self.seedMismatch(driver, userId: "u_max", seq: Int64.max)
            let result = try await driver.command(driver.signed(issueId: id))
            #expect(result.outcome == .rejected)
            #expect(result.rejection == .failed)
            #expect(result.detail?.contains("64-bit") == true, "\(result.detail ?? "-")")
            #expect(try await driver.column("SELECT credits FROM users WHERE id = 'u_max'", as: Int64.self) == [50])
        }
    }

    @Test func aRepairOverANullSeqRowFailsWithADetail() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await Self.seedMismatch(
                driver, userId: "u_null", seq: 1,
                extraRows: "INSERT INTO credit_transactions (id, user_id, seq, balance_after) VALUES ('ctx_n', 'u_null', NULL, 7)")
            let result = try await driver.command(driver.signed(issueId: id))
            #expect(result.rejection == .failed)
            #expect(result.detail?.contains("NULL seq") == true, "\(result.detail ?? "-")")
        }
    }

    @Test func theFailurePathCannotWedgeWhenRememberingTheAnswerIsRefused() async throws {
        try await DatabaseDriver.with { driver in
            try await driver.database.client.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE FUNCTION assurance.test_refuse_all() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN RAISE EXCEPTION 'test refuses every processed command' USING ERRCODE = '54000'; END $$
                        """))
            try await driver.database.client.query(
                """
                CREATE TRIGGER test_refuse_all BEFORE INSERT ON assurance.processed_commands
                FOR EACH ROW EXECUTE FUNCTION assurance.test_refuse_all()
                """)
            let result = try await driver.command(driver.signed(issueId: "credit-balance:nobody"))
            #expect(result.outcome == .rejected)
            #expect(result.rejection == .failed)
            #expect(result.detail?.contains("54000") == true, "\(result.detail ?? "-")")
            let next = try await driver.column(
                "SELECT next_offset FROM assurance.consumer_offsets WHERE topic = \(driver.settings.topics.commands)",
                as: Int64.self)
            #expect(next == [1])
        }
    }
}

extension Array where Element == InboundRecord {
    /// The records interleaved across partitions, as a consumer batch has them (order within each
    /// partition kept).
    func shuffledByPartition() -> [InboundRecord] {
        let byPartition = Dictionary(grouping: self, by: \.partition).sorted { $0.key < $1.key }.map(\.value)
        var result: [InboundRecord] = []
        var index = 0
        while result.count < count {
            for records in byPartition where index < records.count { result.append(records[index]) }
            index += 1
        }
        return result
    }
}
