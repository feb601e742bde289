import { connect, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

/**
 * Runs inside the shaped link's network namespace (`ip netns exec … node delay-relay.ts`): takes
 * TCP connections on the namespace's side of the veth and relays them to a Unix socket of the rig
 * (file-system sockets cross network namespaces), holding every chunk `--delay-ms` in each
 * direction. This kernel has no sch_netem, so the link's delay is added here; rate and loss are
 * the kernel's (tbf, nftables) on the veth.
 */
const { values } = parseArgs({
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    unix: { type: 'string' },
    'delay-ms': { type: 'string' },
  },
});
const delayMs = Number(values['delay-ms'] ?? '0');
if (!values.host || !values.port || !values.unix || !(delayMs >= 0)) {
  console.error('usage: delay-relay --host ADDR --port N --unix PATH --delay-ms MS');
  process.exit(64);
}
const unixPath = values.unix;

/** Copies `from` to `to`, each chunk `delayMs` later, in order; backpressure pauses the source. */
function delayed(from: Socket, to: Socket): void {
  let pending = 0;
  from.on('data', (chunk: Buffer) => {
    pending++;
    setTimeout(() => {
      pending--;
      if (!to.destroyed && !to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
      if (pending === 0 && from.readableEnded) to.end();
    }, delayMs);
  });
  from.on('end', () => {
    if (pending === 0) to.end();
  });
  from.on('error', () => to.destroy());
  from.on('close', () => setTimeout(() => to.destroy(), delayMs + 1000).unref());
}

const server = createServer((client) => {
  const upstream = connect(unixPath);
  delayed(client, upstream);
  delayed(upstream, client);
});
server.listen(Number(values.port), values.host, () =>
  console.log(`relay ${values.host}:${values.port} → ${unixPath}, ${delayMs} ms each way`),
);
process.on('SIGTERM', () => process.exit(0));
