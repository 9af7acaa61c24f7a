// The page side of the browser interop test: a thin wrapper around Strophe.js that the test drives with
// page.evaluate(). Everything observable (connection statuses, received messages, the BOSH session that Strophe
// cached for `restore`) is kept on `window.zx`, so the test can assert it.
import { Strophe, $msg, $pres } from './strophe.esm.js';

const STATUS_NAMES = Object.fromEntries(Object.entries(Strophe.Status).map(([name, value]) => [value, name]));
const SESSION_KEY = 'strophe-bosh-session';

function log(line) {
    document.getElementById('log').textContent += line + '\n';
}

const zx = {
    connection: null,
    // Every status Strophe reported, by name, with its condition when it has one.
    statuses: [],
    // Every chat message received: { from, body }.
    messages: [],
    // The BOSH session Strophe cached in sessionStorage (keepalive), or null.
    cachedSession() {
        const text = sessionStorage.getItem(SESSION_KEY);
        return text === null ? null : JSON.parse(text);
    },
    // The BOSH sid and the next rid Strophe will use.
    bosh() {
        const proto = zx.connection && zx.connection._proto;
        return proto ? { sid: proto.sid, rid: proto.rid } : null;
    },
    jid() {
        return zx.connection ? zx.connection.jid : null;
    },
    _make(url, keepalive) {
        const connection = new Strophe.Connection(url, { keepalive });
        connection.addHandler((stanza) => {
            const body = stanza.getElementsByTagName('body')[0];
            if (body) {
                zx.messages.push({ from: stanza.getAttribute('from'), body: body.textContent });
                log(`message from ${stanza.getAttribute('from')}: ${body.textContent}`);
            }
            return true;
        }, null, 'message', 'chat');
        zx.connection = connection;
        return connection;
    },
    _onStatus(status, condition) {
        const name = STATUS_NAMES[status] || String(status);
        zx.statuses.push(condition ? `${name}:${condition}` : name);
        log(`status ${name}${condition ? ' ' + condition : ''}`);
    },
    // Logs in and resolves with the bound JID once Strophe reports CONNECTED; rejects on a failure status.
    connect(url, jid, password, keepalive) {
        const connection = zx._make(url, keepalive);
        return new Promise((resolve, reject) => {
            connection.connect(jid, password, (status, condition) => {
                zx._onStatus(status, condition);
                if (status === Strophe.Status.CONNECTED) {
                    resolve(connection.jid);
                } else if ([Strophe.Status.CONNFAIL, Strophe.Status.AUTHFAIL, Strophe.Status.ERROR,
                    Strophe.Status.DISCONNECTED].includes(status)) {
                    reject(new Error(`connect ${jid}: ${zx.statuses.join(', ')}`));
                }
            });
        });
    },
    // Restores the session Strophe cached before the reload; resolves once Strophe reports ATTACHED.
    restore(url, jid) {
        const connection = zx._make(url, true);
        return new Promise((resolve, reject) => {
            try {
                connection.restore(jid, (status, condition) => {
                    zx._onStatus(status, condition);
                    if (status === Strophe.Status.ATTACHED) {
                        resolve(connection.jid);
                    } else if ([Strophe.Status.CONNFAIL, Strophe.Status.AUTHFAIL, Strophe.Status.ERROR,
                        Strophe.Status.DISCONNECTED].includes(status)) {
                        reject(new Error(`restore ${jid}: ${zx.statuses.join(', ')}`));
                    }
                });
            } catch (e) {
                reject(e);
            }
        });
    },
    presence() {
        zx.connection.send($pres());
    },
    send(to, text) {
        zx.connection.send($msg({ to, type: 'chat' }).c('body').t(text));
    },
    // Ends the session with a terminate body; resolves on DISCONNECTED.
    disconnect() {
        return new Promise((resolve) => {
            const connection = zx.connection;
            const previous = connection.connect_callback;
            connection.connect_callback = (status, condition) => {
                if (previous) previous(status, condition);
                if (status === Strophe.Status.DISCONNECTED) resolve(zx.statuses);
            };
            connection.disconnect('test done');
        });
    },
};

window.zx = zx;
window.zxReady = true;
log('ready');
