import Hummingbird
import Logging

/// Builds the admin API's router; `buildApplication` serves it, tests drive it with HummingbirdTesting.
public enum AdminRouter {
    public static func build(_ dependencies: AdminAPIDependencies) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        HealthController(dependencies: dependencies).addRoutes(to: router)
        TriagePageController().addRoutes(to: router)
        BillingAssuranceController(dependencies: dependencies).addRoutes(
            to: router.group("api/admin/billing-assurance"))
        return router
    }

    /// The admin API as a `Service`, on `port` of 127.0.0.1 or all interfaces.
    public static func application(_ dependencies: AdminAPIDependencies, host: String = "0.0.0.0", port: Int)
        -> some ApplicationProtocol
    {
        Application(
            router: build(dependencies),
            configuration: .init(address: .hostname(host, port: port), serverName: "assure-worker"),
            logger: dependencies.logger)
    }
}
