import ConductorAPI
import KubeClient
import KubeJSON
import Testing

@testable import ConductorMCP

/// `notifications/tasks/status`: one per change a client sees, none for tasks that are no handles.
struct TaskStatusFeedTests {
    @Test func onlyChangesOfStatusOrMessageAreNotified() {
        var feed = TaskStatusFeed(pollInterval: 1000)
        let pending = TaskHandleTests.task()
        let first = feed.notification(for: pending)
        #expect(first?["method"] == "notifications/tasks/status")
        #expect(first?[path: ["params", "taskId"]] == "mcp-0123")
        #expect(first?[path: ["params", "status"]] == "working")
        // The same version again (a resync), or a write nobody sees: nothing.
        #expect(feed.notification(for: pending) == nil)
        #expect(feed.notification(for: TaskHandleTests.task(phase: .running))?[path: ["params", "statusMessage"]] == "Running on agent-1")
        let done = feed.notification(for: TaskHandleTests.task(phase: .completed, completedAfter: 3))
        #expect(done?[path: ["params", "status"]] == "completed")
        #expect(feed.notification(for: TaskHandleTests.task(phase: .completed, completedAfter: 3)) == nil)
    }

    @Test func theExtensionsNotificationIsTheDetailedTaskStampedWithTheSubscription() {
        var feed = TaskStatusFeed(pollInterval: 1000, shape: .tasksExtension(subscription: 12))
        let done = feed.notification(for: TaskHandleTests.task(phase: .completed, completedAfter: 3))
        #expect(done?["method"] == "notifications/tasks")
        #expect(done?[path: ["params", "status"]] == "completed")
        #expect(done?[path: ["params", "result", "structuredContent", "echo"]] == "hi")
        #expect(done?[path: ["params", "_meta", "io.modelcontextprotocol/subscriptionId"]] == 12)
        #expect(done?[path: ["params", "resultType"]] == nil)
    }

    @Test func tasksThatAreNoHandlesAreNotNotified() {
        var feed = TaskStatusFeed(pollInterval: 1000)
        #expect(feed.notification(for: TaskHandleTests.task(ttlMilliseconds: nil)) == nil)
    }
}
