// The few descriptor operations the zygote protocol needs and Node lacks.
import fs from 'node:fs';
export function closeFds(fds) {
    for (const fd of fds) {
        try {
            fs.closeSync(fd);
        }
        catch {
            // already closed
        }
    }
}
/** The native addon's calls, in the shape the zygote protocol uses. */
export function fdPassingFrom(native) {
    return {
        socketpair: () => native.socketPair(),
        sendFds: (fd, data, fds) => {
            native.sendFds(fd, fds, data);
        },
        closeFds,
    };
}
//# sourceMappingURL=fd-passing.js.map