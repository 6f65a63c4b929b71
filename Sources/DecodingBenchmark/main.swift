// Decodes synthetic ledger rows (plain JSON and Debezium envelopes) and Stripe events, and prints rows/s on one core;
// `issues` times writing and reading the issue events' JSON (Foundation against JSONWriter/JSONReader).
// Usage: swift run -c release DecodingBenchmark [rows] [plain|debezium|wrapped|stripe|issues]
import Consumers
import Shared

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time of this thread in seconds: a fair figure on a machine that other work keeps busy.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

let rowCount = CommandLine.arguments.dropFirst().first.flatMap { Int($0) } ?? 1_000_000
let topics = Topics()
let decoder = RecordDecoder(topics: topics)

func plainRow(_ i: Int) -> String {
    let user = "user_\(i % 5000)"
    let seq = i / 5000 + 1
    return #"{"id":"ctx_\#(i)","userId":"\#(user)","seq":\#(seq),"type":"PURCHASE","amount":500,"#
        + #""balanceAfter":\#(seq * 500),"stripeEventId":"evt_\#(i)","stripePaymentIntentId":"pi_\#(i)","#
        + #""stripeInvoiceId":null,"reason":null,"createdAt":"2026-11-20T10:00:00.\#(String(i % 1000))Z"}"#
}

func debeziumRow(_ i: Int) -> String {
    let user = "user_\(i % 5000)"
    let seq = i / 5000 + 1
    return #"{"before":null,"after":{"id":"ctx_\#(i)","user_id":"\#(user)","seq":\#(seq),"type":"PURCHASE","#
        + #""amount":500,"balance_after":\#(seq * 500),"stripe_event_id":"evt_\#(i)","#
        + #""stripe_payment_intent_id":"pi_\#(i)","stripe_invoice_id":null,"reason":null,"actor":null,"#
        + #""command_id":null,"created_at":"2026-11-20T10:00:00.123456Z"},"#
        + #""source":{"version":"2.5.0.Final","connector":"postgresql","name":"billing","ts_ms":1763632800000,"#
        + #""snapshot":"false","db":"app","sequence":"[\"24023928\",\"24023984\"]","schema":"public","#
        + #""table":"credit_transactions","txId":\#(i),"lsn":24023984,"xmin":null},"#
        + #""op":"c","ts_ms":1763632800123,"transaction":null}"#
}

// A trimmed but realistically shaped JsonConverter schema (schemas.enable=true).
let schema =
    #"{"type":"struct","fields":[{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},"#
    + #"{"type":"string","optional":true,"field":"user_id"},{"type":"int64","optional":true,"field":"seq"},"#
    + #"{"type":"string","optional":true,"field":"type"},{"type":"int64","optional":true,"field":"amount"},"#
    + #"{"type":"int64","optional":true,"field":"balance_after"},{"type":"string","optional":true,"field":"stripe_event_id"},"#
    + #"{"type":"string","optional":true,"name":"io.debezium.time.ZonedTimestamp","version":1,"field":"created_at"}],"#
    + #""optional":true,"name":"billing.public.credit_transactions.Value","field":"after"},"#
    + #"{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}],"#
    + #""optional":false,"name":"billing.public.credit_transactions.Envelope","version":1}"#

func wrappedRow(_ i: Int) -> String { #"{"schema":\#(schema),"payload":\#(debeziumRow(i))}"# }

/// A `customer.subscription.updated` as Stripe sends it: most of it is skipped.
func stripeEvent(_ i: Int) -> String {
    #"{"id":"evt_1Q\#(i)","object":"event","api_version":"2024-06-20","created":\#(1_763_632_800 + i % 86_400),"#
        + #""data":{"object":{"id":"sub_\#(i % 7000)","object":"subscription","application":null,"#
        + #""billing_cycle_anchor":1763632800,"cancel_at":null,"cancel_at_period_end":false,"canceled_at":null,"#
        + #""collection_method":"charge_automatically","created":1763632800,"currency":"usd","#
        + #""current_period_end":1766224800,"current_period_start":1763632800,"customer":"cus_\#(i % 5000)","#
        + #""items":{"object":"list","data":[{"id":"si_\#(i)","object":"subscription_item","#
        + #""price":{"id":"price_pro_monthly","object":"price","active":true,"currency":"usd","#
        + #""recurring":{"interval":"month","interval_count":1},"unit_amount":2900},"quantity":1}],"#
        + #""has_more":false},"latest_invoice":"in_\#(i)","livemode":false,"metadata":{"plan":"pro"},"#
        + #""status":"active","trial_end":null}, "previous_attributes":{"status":"trialing"}},"#
        + #""livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"#
        + #""type":"customer.subscription.updated"}"#
}

func run(_ name: String, topic: String = topics.ledger, _ make: (Int) -> String) {
    // A pool of distinct rows, cycled, so memory stays small and the loop measures decoding only.
    let pool = (0..<min(rowCount, 100_000)).map { i in
        InboundRecord(topic: topic, partition: 0, offset: Int64(i), key: nil, value: Array(make(i).utf8))
    }
    let bytes = pool.reduce(0) { $0 + ($1.value?.count ?? 0) }
    // Warm up and check that every row decodes.
    for record in pool {
        guard case .record = decoder.decode(record) else {
            print("\(name): row did not decode: \(decoder.decode(record))")
            return
        }
    }
    var checksum: Int64 = 0
    let clock = ContinuousClock()
    let cpuStart = threadCPUSeconds()
    let elapsed = clock.measure {
        for i in 0..<rowCount {
            if case .record(let record) = decoder.decode(pool[i % pool.count]) { checksum &+= record.eventTimeMs ?? 0 }
        }
    }
    let cpu = threadCPUSeconds() - cpuStart
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Double(rowCount) / seconds
    let cpuRate = Double(rowCount) / cpu
    let rowBytes = Double(bytes) / Double(pool.count)
    print(
        "\(name): \(rowCount) rows, wall \(format3(seconds)) s = \(Int(rate)) rows/s; "
            + "CPU \(format3(cpu)) s = \(Int(cpuRate)) rows/s, \(Int(rowBytes * cpuRate / 1e6)) MB/s; "
            + "\(Int(rowBytes)) B/row (checksum \(checksum))")
}

func format3(_ v: Double) -> String {
    let scaled = Int((v * 1000).rounded())
    return "\(scaled / 1000).\(String(1000 + scaled % 1000).dropFirst())"
}

// An optional second argument picks one form: plain, debezium, wrapped, stripe or issues (issue event JSON).
let only = CommandLine.arguments.dropFirst(2).first
if only == nil || only == "plain" { run("plain JSON       ", plainRow) }
if only == nil || only == "debezium" { run("Debezium event   ", debeziumRow) }
if only == nil || only == "wrapped" { run("Debezium + schema", wrappedRow) }
if only == nil || only == "stripe" { run("Stripe event     ", topic: topics.stripe, stripeEvent) }
if only == nil || only == "issues" { runIssueEvents(count: rowCount) }
