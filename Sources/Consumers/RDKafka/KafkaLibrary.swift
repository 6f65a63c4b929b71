import CRdKafka

/// The librdkafka this process loaded at run time (which may differ from the headers it was built
/// against: the real-broker suite swaps 2.16 in through `LD_LIBRARY_PATH`).
public enum KafkaLibrary {
    /// The version string, for example `2.0.2` or `2.16.0`.
    public static var version: String { String(cString: rd_kafka_version_str()) }

    /// The version as `(major, minor, patch)`, from librdkafka's `0xMMmmrrxx` encoding.
    public static var versionNumbers: (major: Int, minor: Int, patch: Int) {
        let packed = Int(rd_kafka_version())
        return ((packed >> 24) & 0xff, (packed >> 16) & 0xff, (packed >> 8) & 0xff)
    }
}
