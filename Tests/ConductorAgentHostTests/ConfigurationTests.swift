import ConductorAPI
import ConductorAgentHost
import Foundation
import KubeJSON
import Testing

@Suite struct ConfigurationFileTests {
    static let issueExample = """
        name: echo-agent
        namespace: mcp-system
        maxConcurrentTasks: 4
        tags: [zone-a]
        resources: {cpu: "1", memory: 1Gi, gpu: false}
        capabilities:
          - name: echo
            description: Echo the payload back
            inputSchema: {type: object, properties: {n: {type: integer, minimum: 1}}}
            command: ["python3", "echo.py"]
          - name: summarize
            http: {url: "http://127.0.0.1:9000/run"}
        """

    @Test func theIssuesExampleParsesWithEverySetting() throws {
        let file = try AgentFileConfiguration.parse(yaml: Self.issueExample, file: "agent.yaml")
        #expect(file.name == "echo-agent")
        #expect(file.namespace == "mcp-system")
        #expect(file.maxConcurrentTasks == 4)
        #expect(file.tags == ["zone-a"])
        #expect(file.resources?.cpu == (try Quantity("1")))
        #expect(file.resources?.memory == (try Quantity("1Gi")))
        #expect(file.resources?.gpu == false)
        #expect(file.capabilities.count == 2)
        let echo = file.capabilities[0]
        #expect(echo.name == "echo")
        #expect(echo.description == "Echo the payload back")
        #expect(echo.executor == .command(CommandConfiguration(arguments: ["python3", "echo.py"])))
        // Schema scalars keep their YAML types.
        #expect(echo.inputSchema == ["type": "object", "properties": ["n": ["type": "integer", "minimum": 1]]])
        guard case .http(let http) = file.capabilities[1].executor else { Issue.record("summarize is not http"); return }
        #expect(http.url.absoluteString == "http://127.0.0.1:9000/run")
    }

    @Test func resolvedSettingsBecomeTheAgentsSpec() throws {
        let file = try AgentFileConfiguration.parse(yaml: Self.issueExample, file: "agent.yaml")
        let settings = try AgentSettings.resolve(file: file, overrides: AgentOverrides(), environment: [:], hostName: "host")
        let spec = settings.agentConfiguration.spec
        #expect(spec.capabilities == ["echo", "summarize"])
        #expect(spec.maxConcurrentTasks == 4)
        #expect(spec.tags == ["zone-a"])
        #expect(spec.capabilityDetails.map(\.name) == ["echo", "summarize"])
        #expect(spec.capabilityDetails[0].description == "Echo the payload back")
        #expect(settings.drainTimeout == .seconds(30))
        #expect(settings.heartbeatInterval == .seconds(5))
        #expect(settings.leaseDurationSeconds == 15)
    }

    @Test func commandSettingsBesideTheCommand() throws {
        let file = try AgentFileConfiguration.parse(yaml: """
            capabilities:
              - name: build
                command: [make, all]
                env: {TARGET: x86}
                workingDirectory: /src
                terminationGracePeriodSeconds: 2
                timeoutSeconds: 60
            """, file: "a.yaml")
        guard case .command(let command) = file.capabilities[0].executor else { Issue.record("not a command"); return }
        #expect(command.arguments == ["make", "all"])
        #expect(command.environment == ["TARGET": "x86"])
        #expect(command.workingDirectory == "/src")
        #expect(command.terminationGracePeriodSeconds == 2)
        #expect(file.capabilities[0].timeoutSeconds == 60)
    }

    @Test func mcpServersAsInTheIssue() throws {
        let file = try AgentFileConfiguration.parse(yaml: """
            mcpServers:
              - name: git
                command: ["python3", "-m", "mcp_server_git", "--repository", "/data/repo"]
                toolPrefix: ""
                tools: [git_status, git_log]
                env: {GIT_AUTHOR_NAME: agent}
                timeoutSeconds: 120
            """, file: "a.yaml")
        let settings = try AgentSettings.resolve(file: file, overrides: AgentOverrides(), environment: [:], hostName: "h")
        #expect(settings.capabilities.isEmpty)
        let server = try #require(settings.mcpServers.first)
        #expect(server.name == "git")
        #expect(server.command == ["python3", "-m", "mcp_server_git", "--repository", "/data/repo"])
        #expect(server.toolPrefix == "")
        #expect(server.tools == ["git_status", "git_log"])
        #expect(server.environment == ["GIT_AUTHOR_NAME": "agent"])
        #expect(server.timeoutSeconds == 120)
        // The tools found at start become capabilities beside the configured ones.
        let spec = settings.spec(tools: [CapabilityDetail(name: "git_status", description: "status")])
        #expect(spec.capabilities == ["git_status"])
        #expect(spec.capabilityDetails.first?.description == "status")
    }

    @Test func anMCPServerOverStreamableHTTP() throws {
        let file = try AgentFileConfiguration.parse(yaml: """
            mcpServers:
              - name: search
                url: "http://127.0.0.1:8000/mcp"
                headers: {Authorization: "Bearer t"}
            """, file: "a.yaml")
        let server = try #require(file.mcpServers.first)
        #expect(server.url?.absoluteString == "http://127.0.0.1:8000/mcp")
        #expect(server.headers == ["Authorization": "Bearer t"])
        #expect(server.command.isEmpty)
        _ = try AgentSettings.resolve(file: file, overrides: AgentOverrides(), environment: [:], hostName: "h")
    }

    @Test func aTopLevelExecutorRunsTheCapabilitiesWithoutOne() throws {
        let file = try AgentFileConfiguration.parse(yaml: """
            command: [python3, tool.py]
            capabilities:
              - name: a
              - name: b
                http: {url: "http://localhost:1/b"}
            """, file: "a.yaml")
        #expect(file.capabilities[0].executor == .command(CommandConfiguration(arguments: ["python3", "tool.py"])))
        #expect(file.capabilities[1].executor.kind == "http")
    }

    // MARK: Errors name the field

    private func parseError(_ yaml: String) -> ConfigurationError? {
        do {
            let file = try AgentFileConfiguration.parse(yaml: yaml, file: "agent.yaml")
            _ = try AgentSettings.resolve(file: file, overrides: AgentOverrides(), environment: [:], hostName: "host")
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        ("capabilities: []", "capabilities", "at least one capability"),
        ("capabilities:\n  - name: a", "capabilities[0]", "has no executor"),
        ("capabilities:\n  - name: a\n    command: []", "capabilities[0].command", "program"),
        ("capabilities:\n  - name: a\n    command: [x]\n    http: {url: 'http://h/'}", "capabilities[0]", "both command and http"),
        ("capabilities:\n  - name: a\n    http: {url: 'ftp://h/x'}", "capabilities[0].http.url", "http:// or https://"),
        ("capabilities:\n  - name: a\n    http: {}", "capabilities[0].http", "url is required"),
        ("capabilities:\n  - name: 'a b'\n    command: [x]", "capabilities[0].name", "not a valid capability name"),
        ("capabilities:\n  - {name: a, command: [x]}\n  - {name: a, command: [y]}", "capabilities[1].name", "given twice"),
        ("capabilities:\n  - name: a\n    comand: [x]", "capabilities[0].comand", "unknown field"),
        ("capabilities:\n  - name: a\n    command: [x]\n    inputSchema: {type: string}", "capabilities[0].inputSchema.type", "must be \"object\""),
        ("capabilities:\n  - name: a\n    http: {url: 'http://h/'}\n    env: {A: b}", "capabilities[0].env", "command executor only"),
        ("maxConcurrentTasks: 0\ncapabilities:\n  - {name: a, command: [x]}", "maxConcurrentTasks", "at least 1"),
        ("maxConcurrentTasks: four\ncapabilities:\n  - {name: a, command: [x]}", "maxConcurrentTasks", "whole number"),
        ("name: Echo_Agent\ncapabilities:\n  - {name: a, command: [x]}", "name", "not a valid agent name"),
        ("namespace: mcp.system\ncapabilities:\n  - {name: a, command: [x]}", "namespace", "not a valid namespace"),
        ("resources: {cpu: lots}\ncapabilities:\n  - {name: a, command: [x]}", "resources.cpu", "not a quantity"),
        ("heartbeat: {intervalSeconds: 10, leaseDurationSeconds: 10}\ncapabilities:\n  - {name: a, command: [x]}",
         "heartbeat.leaseDurationSeconds", "longer than"),
        ("mcpServers:\n  - name: git\n    url: 'ws://127.0.0.1:8000/mcp'", "mcpServers[0].url", "http:// or https://"),
        ("mcpServers:\n  - {name: git, url: 'http://h/mcp', command: [x]}", "mcpServers[0]", "both command and url"),
        ("mcpServers:\n  - {name: git, url: 'http://h/mcp', env: {A: b}}", "mcpServers[0].env", "command (stdio) only"),
        ("mcpServers:\n  - name: git", "mcpServers[0]", "needs command"),
        ("mcpServers:\n  - {name: Git, command: [x]}", "mcpServers[0].name", "lower-case"),
        ("mcpServers:\n  - {name: git, command: [x], toolPrefix: 'a b'}", "mcpServers[0].toolPrefix", "may hold only"),
        ("mcpServers:\n  - {name: git, command: [x], tool: [a]}", "mcpServers[0].tool", "unknown field"),
        ("name: a", "(top level)", "at least one capability"),
        ("tags: zone-a\ncapabilities:\n  - {name: a, command: [x]}", "tags", "must be a list"),
    ])
    func aBadConfigurationIsAnErrorNamingTheField(yaml: String, field: String, reason: String) {
        let error = parseError(yaml)
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func errorsSayTheLine() {
        let error = parseError("capabilities:\n  - name: a\n    command: [x]\n  - name: b\n    http: {url: 'http://x/', header: {}}")
        #expect(error?.source == "agent.yaml, line 5")
        #expect(error?.description.hasPrefix("invalid agent configuration: capabilities[1].http.header: unknown field") == true)
    }

    @Test func notYAMLIsAnError() {
        #expect(parseError("capabilities: [unclosed")?.field == "(file)")
    }
}

@Suite struct SettingsPrecedenceTests {
    let file: AgentFileConfiguration = {
        var file = AgentFileConfiguration()
        file.name = "from-file"
        file.maxConcurrentTasks = 2
        file.drainTimeoutSeconds = 10
        file.capabilities = [CapabilityConfiguration(name: "echo", executor: .command(CommandConfiguration(arguments: ["cat"])))]
        return file
    }()

    @Test func flagsOverEnvironmentOverFile() throws {
        let environment = ["CONDUCTOR_AGENT_NAME": "from-env", "CONDUCTOR_AGENT_MAX_CONCURRENT_TASKS": "3",
                           "CONDUCTOR_AGENT_TAGS": "a, b", "CONDUCTOR_AGENT_DRAIN_TIMEOUT_SECONDS": "7"]
        var flags = AgentOverrides()
        flags.name = "from-flag"
        let overrides = try AgentOverrides.fromEnvironment(environment).overridden(by: flags)
        let settings = try AgentSettings.resolve(file: file, overrides: overrides, environment: environment, hostName: "host")
        #expect(settings.name == "from-flag")
        #expect(settings.maxConcurrentTasks == 3)
        #expect(settings.tags == ["a", "b"])
        #expect(settings.drainTimeout == .seconds(7))
    }

    @Test func theNameDefaultsToThePodThenTheHost() throws {
        var file = self.file
        file.name = nil
        let fromPod = try AgentSettings.resolve(file: file, overrides: AgentOverrides(), environment: ["POD_NAME": "echo-7d9f-x2"], hostName: "Host")
        #expect(fromPod.name == "echo-7d9f-x2")
        let fromHost = try AgentSettings.resolve(file: file, overrides: AgentOverrides(), environment: [:], hostName: "Build-Box")
        #expect(fromHost.name == "build-box")
    }

    @Test func aBadEnvironmentVariableIsNamed() {
        #expect(throws: ConfigurationError(field: "maxConcurrentTasks", reason: "\"many\" is not a number",
                                           source: "environment variable CONDUCTOR_AGENT_MAX_CONCURRENT_TASKS")) {
            _ = try AgentOverrides.fromEnvironment(["CONDUCTOR_AGENT_MAX_CONCURRENT_TASKS": "many"])
        }
    }
}
