import Shared
import Testing

@testable import Consumers

/// The consumer group's hand-over, transition by transition, without Kafka: the caller's
/// continuation is a plain string here.
@Suite("Kafka consumer group state machine")
struct KafkaConsumerGroupStateMachineTests {
    typealias Machine = KafkaConsumerGroupStateMachine<String>

    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)

    func makeMachine(maxBufferedEvents: Int = 2) -> Machine {
        var machine = Machine(maxBufferedEvents: maxBufferedEvents, rebalanceAnswerTimeoutMs: 1_000)
        let started = machine.start()
        #expect(started)
        return machine
    }

    func record(_ offset: Int64, partition: Int32 = 0) -> InboundRecord {
        InboundRecord(topic: "t", partition: partition, offset: offset, key: [1], value: [2, 3])
    }

    /// What `next` handed out at once, or `nil` when it ended or suspended.
    func delivered(_ action: Machine.NextAction) -> KafkaGroupHandout? {
        if case .deliver(let handout, _) = action { return handout }
        return nil
    }

    @Test("assign: the waiting caller gets the assignment; only its answer to that rebalance wakes the thread")
    func assign() throws {
        var machine = makeMachine()
        let startedAgain = machine.start()
        #expect(!startedAgain, "a group runs once")
        guard case .suspended = machine.next("caller") else { Issue.record("the caller should wait"); return }

        let begun = machine.beginRebalance(.assign([p0, p1]))
        let id = try #require(begun.id)
        #expect(begun.resume?.waiter == "caller")
        #expect(begun.resume?.handout == .rebalance(id: id, .assign([p0, p1])))
        let waiting = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(waiting == .park)
        #expect(machine.thread == .parked)

        let wrongID = machine.answer(id: id + 1, offsets: [p0: 7])
        #expect(!wrongID, "an answer to another rebalance is ignored")
        let answered = machine.answer(id: id, offsets: [p0: 42])
        #expect(answered, "the answer wakes the parked thread")
        #expect(machine.thread == .active)
        let again = machine.answer(id: id, offsets: [p0: 1])
        #expect(!again, "only the first answer counts")
        let status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .answered([p0: 42]))
        #expect(machine.rebalance == .none)
        let action = machine.nextThreadAction()
        #expect(action == .poll)
    }

    @Test("revoke while a batch is in flight: the records gathered meanwhile reach the caller before the revocation")
    func revokeWhileBatchInFlight() throws {
        var machine = makeMachine()
        // The caller is busy with a batch; the thread gathers the next one.
        _ = machine.append(record(0))
        let gathered = machine.append(record(1))
        #expect(gathered.count == 2 && gathered.bytes == 6)
        #expect(machine.pendingStatus == (count: 2, callerWaiting: false))

        let begun = machine.beginRebalance(.revoke([p0]))
        let id = try #require(begun.id)
        #expect(begun.resume == nil, "nobody waits: both go to the buffer")
        #expect(machine.buffer == [.records([record(0), record(1)]), .rebalance(id: id, .revoke([p0]))])
        var status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .park)

        // The caller finishes its batch and takes the next events in order.
        guard case .deliver(.records(let records), let wake) = machine.next("caller") else {
            Issue.record("the gathered records come first")
            return
        }
        #expect(records == [record(0), record(1)])
        #expect(wake, "taking from the buffer wakes the parked thread")
        status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .park, "the revocation is not answered yet")
        let revocation = delivered(machine.next("caller"))
        #expect(revocation == .rebalance(id: id, .revoke([p0])))
        status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .park)
        let answered = machine.answer(id: id, offsets: [:])
        #expect(answered, "the answer wakes the thread")
        status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .answered([:]))
    }

    @Test("close while waiting for a rebalance answer: a graceful close still waits for the caller")
    func gracefulCloseWaitsForAnswer() throws {
        var machine = makeMachine()
        let id = try #require(machine.beginRebalance(.revoke([p0])).id)
        var status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .park)

        let woken = machine.requestClose()
        #expect(woken, "a close wakes the parked thread")
        status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .park, "it goes back to waiting")
        let answered = machine.answer(id: id, offsets: [:])
        #expect(answered)
        status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .answered([:]))
        let action = machine.nextThreadAction()
        #expect(action == .close)
        #expect(machine.failure == nil)
    }

    @Test("close while waiting for a rebalance answer: cancellation answers by default and does not wait")
    func abandonAnswersByDefault() throws {
        var machine = makeMachine()
        let id = try #require(machine.beginRebalance(.assign([p0])).id)
        var status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .park)
        let woken = machine.abandon()
        #expect(woken)
        status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .answerDefault)
        let late = machine.answer(id: id, offsets: [p0: 3])
        #expect(!late, "a late answer changes nothing")
        let action = machine.nextThreadAction()
        #expect(action == .close)
        // Rebalances during the leave (the final revocation) do not wait either.
        let final = machine.beginRebalance(.revoke([p0]))
        #expect(final.id == nil)
    }

    @Test("an unanswered rebalance times out: no partitions, the group leaves and fails")
    func unansweredRebalanceTimesOut() throws {
        var machine = makeMachine()
        let id = try #require(machine.beginRebalance(.assign([p0])).id)
        let status = machine.rebalanceStatus(id: id, deadlinePassed: true)
        #expect(status == .timedOut)
        #expect(machine.failure?.code == .timedOut)
        #expect(machine.lifecycle == .abandoning)
        let action = machine.nextThreadAction()
        #expect(action == .close)
    }

    @Test("the caller stops iterating: its wait ends, buffered events go, rebalances take their default")
    func callerStops() throws {
        var machine = makeMachine()
        _ = machine.append(record(0))
        let id = try #require(machine.beginRebalance(.revoke([p0])).id)
        var status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .park)
        let stopped = machine.stopConsuming()
        #expect(stopped.waiter == nil)
        #expect(stopped.wakeThread)
        #expect(machine.buffer.isEmpty)
        status = machine.rebalanceStatus(id: id, deadlinePassed: false)
        #expect(status == .answerDefault)
        guard case .end = machine.next("caller") else { Issue.record("the events end"); return }
        let action = machine.nextThreadAction()
        #expect(action == .poll, "the thread drains without a reader until it is closed")
    }

    @Test("back-pressure: the thread parks while the buffer is full and wakes when the caller takes an event")
    func backPressure() {
        var machine = makeMachine(maxBufferedEvents: 2)
        for offset in 0..<2 {
            _ = machine.append(record(Int64(offset)))
            let resume = machine.flushPending()
            #expect(resume == nil, "the busy caller's batches are buffered")
        }
        var action = machine.nextThreadAction()
        #expect(action == .park)
        guard case .deliver(_, wakeThread: true) = machine.next("caller") else {
            Issue.record("taking an event wakes the thread")
            return
        }
        action = machine.nextThreadAction()
        #expect(action == .poll)
        _ = machine.next("caller")
        // The caller now waits: the next batch goes straight to it.
        guard case .suspended = machine.next("caller") else { Issue.record("the caller should wait"); return }
        #expect(machine.pendingStatus.callerWaiting)
        _ = machine.append(record(5))
        let resume = machine.flushPending()
        #expect(resume?.waiter == "caller")
        #expect(resume?.handout == .records([record(5)]))
        let woken = machine.requestClose()
        #expect(!woken, "the thread is not parked")
        action = machine.nextThreadAction()
        #expect(action == .close)
    }

    @Test("thread exit: the waiting caller gets the last gathered records, then the events end")
    func threadExit() throws {
        var machine = makeMachine()
        guard case .suspended = machine.next("caller") else { Issue.record("the caller should wait"); return }
        _ = machine.append(record(9))
        let failure = KafkaError.local(.state, "broken")
        let finished = machine.finish(failure: failure)
        let resume = try #require(finished)
        #expect(resume.waiter == "caller")
        #expect(resume.handout == .records([record(9)]))
        guard case .end = machine.next("caller") else { Issue.record("the events end"); return }
        #expect(machine.thread == .exited)
        #expect(machine.failure == failure)
        let restarted = machine.start()
        #expect(!restarted)
        let woken = machine.requestClose()
        #expect(!woken, "nothing left to wake")

        // With nothing gathered, a waiting caller is told the events ended.
        var idle = makeMachine()
        _ = idle.next("caller")
        let idleFinished = idle.finish(failure: nil)
        let end = try #require(idleFinished)
        #expect(end.handout == nil)
        #expect(idle.failure == nil)
    }
}
