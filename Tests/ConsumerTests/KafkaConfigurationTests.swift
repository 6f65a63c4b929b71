import Testing

@testable import Consumers

@Suite("Kafka configuration")
struct KafkaConfigurationTests {
    @Test("ASSURE_RDKAFKA_ variables become lowercased dotted librdkafka properties; others are ignored")
    func parsesEnvironmentProperties() {
        let properties = KafkaConfiguration.rdkafkaProperties(fromEnvironment: [
            "ASSURE_RDKAFKA_SESSION_TIMEOUT_MS": "4000",
            "ASSURE_RDKAFKA_DEBUG": "cgrp,fetch",
            "ASSURE_KAFKA_BROKERS": "kafka:9092",
            "ASSURE_RDKAFKA_": "ignored",
            "PATH": "/usr/bin",
        ])
        #expect(properties == ["session.timeout.ms": "4000", "debug": "cgrp,fetch"])
    }

    @Test("the consumer never commits by itself, uses eager assignors and the fetch tuning; raw properties win")
    func consumerProperties() {
        var configuration = KafkaConfiguration(bootstrapServers: ["a:9092", "b:9092"], groupID: "g")
        configuration.properties = ["fetch.wait.max.ms": "50"]
        let properties = configuration.consumerProperties
        #expect(properties["bootstrap.servers"] == "a:9092,b:9092")
        #expect(properties["group.id"] == "g")
        #expect(properties["enable.auto.commit"] == "false")
        #expect(properties["enable.auto.offset.store"] == "false")
        #expect(properties["partition.assignment.strategy"] == "range,roundrobin")
        #expect(properties["queued.min.messages"] == "10000000")
        #expect(properties["fetch.wait.max.ms"] == "50")
    }

    @Test("the producer is idempotent with the configured message timeout")
    func producerProperties() {
        let properties = KafkaConfiguration(messageTimeoutMs: 1234).producerProperties
        #expect(properties["enable.idempotence"] == "true")
        #expect(properties["message.timeout.ms"] == "1234")
        #expect(properties["group.id"] == nil)
    }

    @Test("a property librdkafka rejects fails client creation with invalidArgument")
    func rejectsUnknownProperties() {
        let error = #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(
                configuration: KafkaConfiguration(properties: ["no.such.property": "1"]),
                logger: KafkaTestSupport.logger("producer"))
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("no.such.property") == true)
    }
}
