// The few descriptor operations the zygote protocol needs and Node lacks.
import fs from 'node:fs';

export interface FdPassing {
  /** A connected pair of SOCK_STREAM Unix sockets, both close-on-exec. */
  socketpair(): [number, number];
  /** One sendmsg() of `data` with `fds` attached (SCM_RIGHTS). */
  sendFds(fd: number, data: Buffer, fds: number[]): void;
  closeFds(fds: number[]): void;
}

export function closeFds(fds: number[]): void {
  for (const fd of fds) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** The native addon's calls, in the shape the zygote protocol uses. */
export function fdPassingFrom(native: { socketPair(): [number, number]; sendFds(socket: number, fds: number[], data?: Buffer): number }): FdPassing {
  return {
    socketpair: () => native.socketPair(),
    sendFds: (fd, data, fds) => {
      native.sendFds(fd, fds, data);
    },
    closeFds,
  };
}
