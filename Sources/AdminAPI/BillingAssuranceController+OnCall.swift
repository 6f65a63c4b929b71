import Foundation
import Hummingbird
import Persistence
import Shared
import WorkerRuntime

/// The on-call routes: release gate, command results, issue history and the user timeline.
extension BillingAssuranceController {
    func addOnCallRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.get("release-gate", use: releaseGate)
        group.get("commands/:commandId", use: commandResult)
        group.get("issues/:issueId", use: issueHistory)
        group.get("users/:userId/timeline", use: timeline)
    }

    func releaseGate(request: Request, context: BasicRequestContext) async throws -> Response {
        _ = try authenticate(request)
        return try Self.json(try await dependencies.reports.releaseGate(), status: .ok)
    }

    /// A command's result once the cluster processed it (for a POST that answered 202), else 404.
    func commandResult(request: Request, context: BasicRequestContext) async throws -> Response {
        _ = try authenticate(request)
        let commandId = try Self.segment("commandId", context)
        guard let result = try await dependencies.reports.commandResult(commandId: commandId) else {
            throw HTTPError(.notFound, message: "no result for command '\(commandId)' yet")
        }
        return try Self.json(result, status: .ok)
    }

    func issueHistory(request: Request, context: BasicRequestContext) async throws -> Response {
        _ = try authenticate(request)
        let issueId = try Self.segment("issueId", context)
        guard let history = try await dependencies.reports.issueHistory(issueId) else {
            throw HTTPError(.notFound, message: "no issue '\(issueId)'; list them with GET /api/admin/billing-assurance")
        }
        return try Self.json(history, status: .ok)
    }

    func timeline(request: Request, context: BasicRequestContext) async throws -> Response {
        _ = try authenticate(request)
        let userId = try Self.segment("userId", context)
        var limit = 200
        if let raw = request.uri.queryParameters.get("limit") {
            guard let value = Int(raw), (1...1000).contains(value) else {
                throw HTTPError(.badRequest, message: "limit must be a whole number from 1 to 1000, got '\(raw)'")
            }
            limit = value
        }
        let json = try await dependencies.reports.timeline(userId: userId, limit: limit).json()
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    /// A path parameter as one percent-decoded segment.
    static func segment(_ name: String, _ context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require(name)
        guard let decoded = raw.removingPercentEncoding, !decoded.isEmpty else {
            throw HTTPError(.badRequest, message: "'\(raw)' is not a valid percent-encoded \(name)")
        }
        return decoded
    }
}
