import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AdminAPI

/// The triage page's routes: what they serve and the policy they serve it under.
/// (The page's behaviour in a browser is Tests/BrowserTests/test_triage_page.py.)
@Suite struct TriagePageTests {
    static func withPage(_ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router(context: BasicRequestContext.self)
        TriagePageController().addRoutes(to: router)
        try await Application(router: router).test(.router, test)
    }

    @Test func thePageIsServedWithoutATokenUnderAStrictPolicy() async throws {
        try await Self.withPage { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                let policy = try #require(response.headers[.contentSecurityPolicy])
                for directive in [
                    "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                    "form-action 'none'", "frame-ancestors 'none'", "base-uri 'none'",
                ] {
                    #expect(policy.contains(directive), "missing \(directive) in \(policy)")
                }
                #expect(!policy.contains("unsafe"))
                let html = String(buffer: response.body)
                #expect(html.contains(#"<script src="/assets/triage.js" defer></script>"#))
                #expect(html.contains(#"<link rel="stylesheet" href="/assets/triage.css">"#))
            }
        }
    }

    @Test func thePageLoadsNothingFromAnotherOriginAndHasNoInlineCode() async throws {
        let html = TriagePage.html
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"))
        #expect(html.components(separatedBy: "<script").count == 2, "one script element, by src")
        #expect(!html.contains("style="))
        #expect(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil, "no inline event handler")
        let script = TriagePage.script
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            #expect(!script.contains(sink), "the script must not use \(sink)")
        }
        #expect(!script.contains("http://") && !script.contains("https://"))
        #expect(script.contains("sessionStorage") && !script.contains("localStorage"), "the token is kept for the tab only")
    }

    @Test func theScriptAndStyleSheetAreServedWithTheirTypes() async throws {
        try await Self.withPage { client in
            try await client.execute(uri: "/assets/triage.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(String(buffer: response.body) == TriagePage.script)
            }
            try await client.execute(uri: "/assets/triage.css", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/css; charset=utf-8")
                #expect(String(buffer: response.body) == TriagePage.style)
            }
            try await client.execute(uri: "/assets/other.js", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
