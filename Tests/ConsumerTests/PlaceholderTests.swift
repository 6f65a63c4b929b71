import Testing

@Test func placeholder_ConsumerTests() { #expect(Bool(true)) }
