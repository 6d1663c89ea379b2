import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway self-signed certificate for `name` (and `*.name` patterns as given), valid one day, in a
 * fresh temporary directory: `certPath` is what TWILIO_CA_BUNDLE names to trust it.
 */
export function selfSignedCertificate(name: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tkr-tls-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=DNS:${name}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
  return {
    key: readFileSync(keyPath),
    cert: readFileSync(certPath),
    certPath,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Twilio's real hosts (https://iam.twilio.com, api.twilio.com, …) for a process whose configuration
 * has no twilio.baseUrl, the way a deployment's has none: an HTTPS front with a throwaway
 * certificate for *.twilio.com that forwards to the emulator, reached through a CONNECT proxy. The
 * process under test gets HTTP_PROXY and TWILIO_CA_BUNDLE, which the rotator's Twilio client honours
 * as twilio-node's does; nothing in its configuration changes.
 */
export async function startTwilioTls(emulatorUrl: string) {
  const tls = selfSignedCertificate('*.twilio.com');
  const front = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const host = req.headers.host ?? '';
    const target = new URL(req.url ?? '/', emulatorUrl);
    // Twilio's own links name the host the client reached: tell the emulator which one it was.
    const out = request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host, 'x-twilio-original-host': host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  const connects: string[] = [];
  const proxy = net.createServer((client) => {
    client.once('data', (head: Buffer) => {
      const [, hostPort] = /^CONNECT (\S+) HTTP/.exec(head.toString()) ?? [];
      connects.push(hostPort ?? '?');
      if (!/\.twilio\.com:443$/.test(hostPort ?? '')) return void client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      const upstream = net.connect((front.address() as AddressInfo).port, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  });
  const listen = (s: net.Server) =>
    new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
  await listen(front);
  const proxyPort = await listen(proxy);
  return {
    /** The environment that sends a process's Twilio traffic here. */
    env: { HTTP_PROXY: `http://127.0.0.1:${proxyPort}`, TWILIO_CA_BUNDLE: tls.certPath },
    connects,
    close() {
      front.closeAllConnections();
      front.close();
      proxy.close();
      tls.remove();
    },
  };
}
