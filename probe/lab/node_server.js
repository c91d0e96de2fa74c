// One lab endpoint served by Node.js (OpenSSL 3.5: ML-KEM hybrids): `node node_server.js SPEC.json`.
//
// The spec (written by probe/lab/node_server.py): address, port (0 = free), ready_file, min_version,
// max_version, ciphers (TLS <= 1.2 cipher string), tls13_ciphersuites (TLS 1.3 suite names), ecdh_curve
// (OpenSSL's group list, tuple syntax `A / B` allowed), certificates [{cert, key}].
// Answers one HTTP request per connection with 200, as the Python lab servers do; failed handshakes are silent.
'use strict';

const fs = require('fs');
const path = require('path');
const tls = require('tls');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const certs = spec.certificates.map((c) => ({ cert: fs.readFileSync(c.cert), key: fs.readFileSync(c.key) }));
const options = {
  key: certs.map((c) => c.key),
  cert: certs.map((c) => c.cert),
  minVersion: spec.min_version,
  maxVersion: spec.max_version,
  ecdhCurve: spec.ecdh_curve,
  honorCipherOrder: true,
};
const suites = [spec.ciphers, ...(spec.tls13_ciphersuites || [])].filter(Boolean).join(':');
if (suites) options.ciphers = suites;

const server = tls.createServer(options, (socket) => {
  socket.setNoDelay(true);
  socket.setTimeout(10000, () => socket.destroy());
  let request = '';
  socket.on('data', (chunk) => {
    request += chunk.toString('latin1');
    if (request.includes('\r\n\r\n') || request.length > 16384) {
      const body = 'tlsprobe lab\n';
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
        `Connection: close\r\n\r\n${body}`);
    }
  });
  socket.on('error', () => socket.destroy());
});
server.on('tlsClientError', (err, socket) => socket.destroy());
server.maxConnections = 256;
server.listen({ host: spec.address, port: spec.port, backlog: 256 }, () => {
  const ready = spec.ready_file;
  const tmp = path.join(path.dirname(ready), path.basename(ready) + '.tmp');
  fs.writeFileSync(tmp, JSON.stringify({ port: server.address().port, pid: process.pid }));
  fs.renameSync(tmp, ready);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
