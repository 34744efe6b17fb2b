import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes

/// Answers one request with the router and writes the answer onto the request's connection, with the headers
/// every answer carries (Date, Server); closes the connection after it when the request asked to.
///
/// A request is routed in the task its connection's handler starts, and its answer written from a new task:
/// a Swift task keeps every stack slab it has used until it ends (see `Reply`), and a tool call's answer may be
/// written only when its task ends (`MCPHTTPEndpoint.json(whenReady:)`): its body registers the wait and hands
/// the answer to a `LateAnswer`, so the writing task ends too, and the wait holds no task at all.
struct RequestResponder: Sendable {
    let router: RouterResponder<ConnectionRequestContext>
    let serverName: String
    let logger: Logger

    /// `clientLeft` fires when the client leaves while the request is answered: a call that waits then stops.
    /// `slot` is given back once the answer is written, its wait registered or its stream streaming.
    func answer(_ request: Request, closingAfter closes: Bool, clientLeft: Signal, slot: RequestAdmission.Slot,
                on channel: any Channel) async {
        let response = await route(request, clientLeft: clientLeft, on: channel)
        Task { await write(response, closingAfter: closes, slot: slot, on: channel) }
    }

    private func write(_ response: Response, closingAfter closes: Bool, slot: RequestAdmission.Slot, on channel: any Channel) async {
        defer { slot.giveBack() }
        do {
            try await ChannelResponseWriter.write(response, to: channel, closingAfter: closes, streaming: slot)
        } catch {
            // The client went away, or the body failed part-way: the answer cannot be ended, and the connection
            // cannot carry another one.
            logger.debug("answer not written", metadata: ["error": "\(error)"])
            channel.close(promise: nil)
        }
    }

    private func route(_ request: Request, clientLeft: Signal, on channel: any Channel) async -> Response {
        var context = ConnectionRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
        context.clientLeft = clientLeft
        var response: Response
        do {
            // The router answers its own errors (404, 405 and the handlers' HTTPErrors).
            response = try await router.respond(to: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            response = Response(status: .internalServerError)
        }
        response.headers[.date] = HTTPDate.now()
        response.headers[.server] = serverName
        return response
    }
}
