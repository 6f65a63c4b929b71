import Persistence
import Testing

@Suite("DatabaseConfiguration.parse(url:)")
struct DatabaseConfigurationTests {
    @Test func parse_fullURL_readsEveryPart() throws {
        let configuration = try DatabaseConfiguration.parse(url: "postgres://alice:s3cret@db.example:6543/billing")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "alice")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == "billing")
        #expect(configuration.tlsMode == .prefer)
    }

    @Test func parse_contractDefaultURL_isLocalPostgres() throws {
        let configuration = try DatabaseConfiguration.parse(url: DatabaseConfiguration.defaultURL)
        #expect(configuration.host == "localhost")
        #expect(configuration.port == 5432)
        #expect(configuration.username == "postgres")
        #expect(configuration.password == nil)
        #expect(configuration.database == "postgres")
    }

    @Test func parse_minimalURL_fillsLibpqDefaults() throws {
        let noUser = try DatabaseConfiguration.parse(url: "postgresql://localhost")
        #expect(noUser.username == "postgres")
        #expect(noUser.port == 5432)
        #expect(noUser.database == "postgres")
        // libpq: the database defaults to the user name.
        let userOnly = try DatabaseConfiguration.parse(url: "postgres://bob@localhost/")
        #expect(userOnly.database == "bob")
    }

    @Test func parse_percentEncodedParts_areDecoded() throws {
        let configuration = try DatabaseConfiguration.parse(url: "postgres://us%40er:p%40ss%3Aw%2Fd@h:5432/my%20db")
        #expect(configuration.username == "us@er")
        #expect(configuration.password == "p@ss:w/d")
        #expect(configuration.database == "my db")
    }

    @Test func parse_sslmodeDisable_isTolerated_andOtherParametersIgnored() throws {
        let configuration = try DatabaseConfiguration.parse(
            url: "postgres://u:p@h:5432/d?application_name=x&sslmode=disable&connect_timeout=3"
        )
        #expect(configuration.tlsMode == .disable)
        #expect(try DatabaseConfiguration.parse(url: "postgres://h/d?sslmode=verify-full").tlsMode == .verifyFull)
    }

    @Test func parse_ipv6Host_inBrackets() throws {
        let configuration = try DatabaseConfiguration.parse(url: "postgres://u@[::1]:5433/d")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 5433)
    }

    @Test(
        "parse rejects unusable URLs with a reason naming the problem",
        arguments: [
            ("", "empty"),
            ("   ", "empty"),
            ("localhost:5432/db", "expected postgres://"),
            ("mysql://u@h/d", "scheme must be"),
            ("http://u@h/d", "scheme must be"),
            ("postgres://", "host is missing"),
            ("postgres://u:p@/d", "host is missing"),
            ("postgres://u@h:abc/d", "port 'abc'"),
            ("postgres://u@h:0/d", "port '0'"),
            ("postgres://u@h:70000/d", "port '70000'"),
            ("postgres://u@h:/d", "port ''"),
            ("postgres://u@h1,h2/d", "not a single host"),
            ("postgres://u@127.0.0.1:1:2/d", "not a single host"),
            ("postgres://u@[::1/d", "unclosed"),
            ("postgres://u@h/d?sslmode=sometimes", "sslmode 'sometimes'"),
            ("postgres://u@h/a/b", "contains '/'"),
            ("postgres://u%zz@h/d", "percent-encoding"),
        ]
    )
    func parse_invalidURL_throwsInvalidURL(url: String, expected: String) {
        let error = #expect(throws: DatabaseError.self) { try DatabaseConfiguration.parse(url: url) }
        #expect(error?.code == .invalidURL)
        #expect(error?.reason.contains(expected) == true, "\(error?.reason ?? "")")
        #expect(error?.reason.contains("\n") == false)
    }

    @Test func parse_invalidURL_errorHidesThePassword() {
        let error = #expect(throws: DatabaseError.self) {
            try DatabaseConfiguration.parse(url: "postgres://u:topsecret@h:notaport/d")
        }
        let reason = error?.reason ?? ""
        #expect(!reason.contains("topsecret"))
        #expect(reason.contains("u:***@h:notaport"))
    }

    @Test func redactedURL_hidesPassword_andURLRoundTrips() throws {
        let configuration = try DatabaseConfiguration.parse(url: "postgres://u:p%40ss@h:5433/d?sslmode=disable")
        #expect(configuration.redactedURL == "postgres://u:***@h:5433/d?sslmode=disable")
        #expect("\(configuration)" == configuration.redactedURL)
        #expect(try DatabaseConfiguration.parse(url: configuration.url) == configuration)
    }

    @Test func clientConfiguration_carriesHostPortAndCredentials() throws {
        let configuration = try DatabaseConfiguration.parse(url: "postgres://u:p@h:5433/d?sslmode=disable")
        let client = try configuration.clientConfiguration()
        #expect(client.host == "h")
        #expect(client.port == 5433)
        #expect(client.username == "u")
        #expect(client.password == "p")
        #expect(client.database == "d")
    }

    @Test func retryPolicy_delaysDoubleUpToTheMaximum() {
        let policy = ConnectRetryPolicy(
            maximumAttempts: 10, initialDelay: .milliseconds(100), maximumDelay: .milliseconds(500)
        )
        #expect(policy.delay(afterAttempt: 1) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 2) == .milliseconds(200))
        #expect(policy.delay(afterAttempt: 3) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 4) == .milliseconds(500))
        #expect(policy.delay(afterAttempt: 40) == .milliseconds(500))
    }
}
