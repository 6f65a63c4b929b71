import Hummingbird

/// `GET /`: the triage page, with its script and style sheet from routes of their own.
///
/// The page is served without authentication because it holds no data: everything it shows comes
/// from the authenticated API, called with the bearer token the person types in. A strict
/// Content-Security-Policy keeps it to its own origin and lets no inline script or style run, so a
/// value from an input record can never become code.
struct TriagePageController {
    static let scriptPath = "/assets/triage.js"
    static let stylePath = "/assets/triage.css"

    /// The page's policy: only its own script, style and API, no frames, no forms that leave it.
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
        "img-src 'self' data:", "form-action 'none'", "frame-ancestors 'none'", "base-uri 'none'",
    ].joined(separator: "; ")

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Self.asset(TriagePage.html, type: "text/html; charset=utf-8") }
        router.get(RouterPath(Self.scriptPath)) { _, _ in
            Self.asset(TriagePage.script, type: "text/javascript; charset=utf-8")
        }
        router.get(RouterPath(Self.stylePath)) { _, _ in Self.asset(TriagePage.style, type: "text/css; charset=utf-8") }
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type,
                .contentSecurityPolicy: contentSecurityPolicy,
                .xContentTypeOptions: "nosniff",
                .init("Referrer-Policy")!: "no-referrer",
                // The page changes with the binary only; no-cache still lets the browser revalidate cheaply.
                .cacheControl: "no-cache",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
