// The server process and helpers every test file here uses (withServer, waitUntil, TestFailure, …) live in
// ConductorTestSupport, shared with the other test targets that start a server.
@_exported import ConductorTestSupport
