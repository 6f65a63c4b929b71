import Foundation
import Hummingbird
import RepairCommands
import Shared
import WorkerRuntime

/// `/api/admin/billing-assurance`: the report, repairs and explanations, and replay readiness.
struct BillingAssuranceController {
    let dependencies: AdminAPIDependencies

    /// The body of `POST /api/admin/billing-assurance`.
    struct RepairRequest: Decodable {
        var issueId: String
        var reason: String
        var dryRun: Bool?
        var action: CommandAction?
        /// The end of a snooze (`action` `snooze` only).
        var until: String?
    }

    /// The 202 answer when the result did not arrive in time.
    struct Accepted: ResponseEncodable {
        var commandId: String
        var status = "accepted"
        var message: String
    }

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.get(use: report)
        group.post(use: repair)
        group.get("replay-readiness", use: replayReadiness)
        addOnCallRoutes(to: group)
    }

    func report(request: Request, context: BasicRequestContext) async throws -> AssuranceReport {
        _ = try authenticate(request)
        var periodDays: Int64? = nil
        if let raw = request.uri.queryParameters.get("periodDays") {
            guard let value = Int64(raw), (1...365).contains(value) else {
                throw HTTPError(.badRequest, message: "periodDays must be a whole number from 1 to 365, got '\(raw)'")
            }
            periodDays = value
        }
        return try await dependencies.reports.report(periodDays: periodDays, nowMs: dependencies.clock())
    }

    func replayReadiness(request: Request, context: BasicRequestContext) async throws -> ReplayReadiness {
        _ = try authenticate(request)
        let query = request.uri.queryParameters
        func value(_ name: String) -> String? {
            query.get(name).flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
        }
        let eventId = value("eventId")
        let paymentIntentId = value("paymentIntentId")
        let invoiceId = value("invoiceId")
        let userId = value("userId")
        guard eventId != nil || paymentIntentId != nil || invoiceId != nil || userId != nil else {
            throw HTTPError(
                .badRequest, message: "give at least one of eventId, paymentIntentId, invoiceId, userId to check")
        }
        return try await dependencies.reports.replayReadiness(
            eventId: eventId, paymentIntentId: paymentIntentId, invoiceId: invoiceId, userId: userId)
    }

    func repair(request: Request, context: BasicRequestContext) async throws -> Response {
        let actor = try authenticate(request)
        let body = try await request.body.collect(upTo: 64 * 1024)
        let repairRequest: RepairRequest
        do {
            repairRequest = try JSONDecoder().decode(RepairRequest.self, from: Data(buffer: body))
        } catch {
            throw HTTPError(
                .badRequest,
                message:
                    "body must be JSON {\"issueId\": …, \"reason\": …, \"dryRun\"?: bool, \"action\"?: \"repair\"|\"explain\"|\"ack\"|\"snooze\", \"until\"?: RFC 3339}"
            )
        }
        guard !repairRequest.reason.allSatisfy(\.isWhitespace) else {
            throw HTTPError(.badRequest, message: "reason must not be blank: say why, it goes into the audit row")
        }
        guard let issue = try await dependencies.reports.issue(repairRequest.issueId) else {
            throw HTTPError(.notFound, message: "no issue '\(repairRequest.issueId)'; list them with GET /api/admin/billing-assurance")
        }
        let action = repairRequest.action ?? .repair
        if action == .repair, issue.repair == nil {
            throw HTTPError(
                .badRequest,
                message: "\(issue.check.rawValue) has no safe automated repair; explain it with \"action\": \"explain\"")
        }
        if action == .snooze, repairRequest.until == nil {
            throw HTTPError(.badRequest, message: "a snooze needs \"until\": an RFC 3339 time at most 7 days ahead")
        }
        guard let key = dependencies.settings.commandKey else {
            throw HTTPError(.serviceUnavailable, message: "this worker has no ASSURE_COMMAND_KEY: repairs are refused until it is set")
        }
        let command = CommandSigner(key: key).sign(
            RepairCommand(
                commandId: "cmd_" + UUID().uuidString.lowercased(), issueId: repairRequest.issueId,
                reason: repairRequest.reason, actor: CommandActor(id: actor.id, role: actor.role.rawValue),
                requestedAt: Timestamp.format(dependencies.clock()), dryRun: repairRequest.dryRun, action: action,
                until: action == .snooze ? repairRequest.until : nil, signature: ""))
        let payload = try JSONEncoder().encode(command)
        try await dependencies.publishCommand(
            OutboundMessage(
                topic: dependencies.settings.topics.commands, key: Array(command.issueId.utf8), value: Array(payload)))
        let deadline = ContinuousClock.now + .milliseconds(dependencies.resultWaitMs)
        var delayMs = 20
        while ContinuousClock.now < deadline {
            if let result = try await dependencies.reports.commandResult(commandId: command.commandId) {
                return try Self.json(result, status: .ok)
            }
            try await Task.sleep(for: .milliseconds(delayMs))
            delayMs = min(delayMs * 2, 250)
        }
        return try Self.json(
            Accepted(
                commandId: command.commandId,
                message: "command published; its result will appear on the repairs topic"),
            status: .accepted)
    }

    func authenticate(_ request: Request) throws -> AdminTokens.Actor {
        try AdminAuthentication.actor(for: request, tokens: dependencies.tokens)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

// The report lists every open issue (thousands): its bytes come from `JSONWriter`, not `JSONEncoder`.
extension AssuranceReport: ResponseGenerator {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let bytes = jsonBytes()
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(bytes.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension ReplayReadiness: ResponseEncodable {}

/// Bearer-token authentication of admins: 401 without or with an unknown token, 403 for role USER.
enum AdminAuthentication {
    static func actor(for request: Request, tokens: AdminTokens) throws -> AdminTokens.Actor {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            throw HTTPError(
                .unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                message: "send Authorization: Bearer <token> of an admin (tokens live in ASSURE_ADMIN_TOKENS)")
        }
        let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let actor = tokens.actor(forToken: token) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "unknown token")
        }
        guard actor.role.mayRepair else {
            throw HTTPError(.forbidden, message: "actor \(actor.id) has role USER: only ADMIN and SUPER_ADMIN may use this API")
        }
        return actor
    }
}
