// A Node.js (OpenSSL 3.5) TLS client for the lab: `node node_client.js REQUEST.json` prints one JSON line per
// handshake. It measures the PQ lab endpoints' ground truth (which group a client with a given group list ends
// with) and the bench's handshakes.
//
// REQUEST: {address, port, servername, curves: [ecdhCurve, ...], repeat: n (handshakes per curve, default 1),
//           min_version, request: bool (send one GET and read the answer)}.
// Each line: {curve, ok, group, protocol, ms, bytes_written, bytes_read, error}. `group` is the negotiated group
// (getEphemeralKeyInfo: the TLS group name, X25519, prime256v1 ...). `ecdhCurve` takes OpenSSL 3.5's syntax: a
// `*` before a group sends a key share for it (`X25519MLKEM768:*X25519`: both groups, an X25519 share only).
'use strict';

const fs = require('fs');
const tls = require('tls');

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

function once(curve) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    let settled = false;
    const socket = tls.connect({
      host: request.address,
      port: request.port,
      servername: request.servername,
      rejectUnauthorized: false,
      ecdhCurve: curve,
      minVersion: request.min_version || 'TLSv1.3',
      session: undefined,
    });
    const finish = (result) => {
      if (settled) return;
      settled = true;
      result.curve = curve;
      result.bytes_written = socket.bytesWritten;
      result.bytes_read = socket.bytesRead;
      socket.destroy();
      resolve(result);
    };
    socket.setNoDelay(true);
    socket.setTimeout(10000, () => finish({ ok: false, error: 'timeout' }));
    socket.on('secureConnect', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const info = socket.getEphemeralKeyInfo() || {};
      const result = { ok: true, group: info.name || null, protocol: socket.getProtocol(), ms };
      if (!request.request) return finish(result);
      socket.write(`GET / HTTP/1.1\r\nHost: ${request.servername}\r\nConnection: close\r\n\r\n`);
      socket.once('data', () => finish(result));
    });
    socket.on('error', (err) => finish({ ok: false, error: err.code || err.message }));
  });
}

(async () => {
  for (const curve of request.curves) {
    for (let i = 0; i < (request.repeat || 1); i += 1) {
      let result;
      try {
        result = await once(curve);
      } catch (err) {
        result = { curve, ok: false, error: err.code || err.message };
      }
      process.stdout.write(JSON.stringify(result) + '\n');
    }
  }
})();
