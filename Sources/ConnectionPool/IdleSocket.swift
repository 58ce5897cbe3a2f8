#if canImport(Glibc)
import Glibc
#endif

/// Whether an idle connection's socket shows that the server is gone.
///
/// Nothing should arrive on a connection nobody is using: readable data, EOF
/// or an error there means the server closed it (a restart, an idle timeout,
/// `terminating connection due to administrator command`) and the connection
/// must be replaced before the next command is written into a dead socket.
public func idleSocketLooksClosed(_ fd: Int32) -> Bool {
    guard fd >= 0 else { return true }
    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ready = poll(&descriptor, 1, 0)
    if ready < 0 { return true }
    return ready > 0 && descriptor.revents & Int16(POLLIN | POLLHUP | POLLERR | POLLNVAL) != 0
}
