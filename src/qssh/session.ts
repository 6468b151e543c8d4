/**
 * One authenticated QSSH session: channels and their requests. Only session channels with the
 * `sftp` subsystem are served; shells, exec, PTYs, X11, agent and port forwarding are refused
 * on the channel (message, exit status 1, EOF, close), global requests are refused, and a
 * handshake message after the handshake is a protocol error.
 */
import { CairnError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Archive } from '../archive/service/archive.ts';
import { MAX_CHANNEL_DATA, type QsshConnection } from './connection.ts';
import type { ChannelMessage } from './messages.ts';
import { PacketReader } from './sftp/packets.ts';
import { MAX_READ_BYTES, SftpServer } from './sftp/sftp-server.ts';
import type { CairnMetrics } from '../metrics.ts';

const MAX_CHANNELS = 4;
/** Largest SFTP request packet accepted (a WRITE as large as the largest READ, plus its fields; writes are refused anyway). */
const MAX_SFTP_PACKET = MAX_READ_BYTES + 1024;

/** An open session channel (keyed by its id); `sftp` once the subsystem runs. */
interface Channel {
  sftp?: { server: SftpServer; reader: PacketReader };
}

/** Runs the session until the peer disconnects or breaks the protocol (then it throws). */
export async function runSession(conn: QsshConnection, archive: Archive, logger: Logger, metrics?: CairnMetrics): Promise<{ bytesServed: number }> {
  const channels = new Map<number, Channel>();
  let bytesServed = 0;
  const closeChannel = async (id: number): Promise<void> => {
    const ch = channels.get(id);
    if (!ch) return;
    channels.delete(id);
    if (ch.sftp) {
      bytesServed += ch.sftp.server.bytesServed;
      await ch.sftp.server.close();
    }
  };
  const refuse = async (channelId: number, what: string): Promise<void> => {
    logger.warn('qssh request refused', { request: what, channel: channelId });
    await conn.sendData(channelId, Buffer.from(`Cairn serves images read-only over SFTP; ${what} is not available\n`));
    await conn.send({ kind: 'Channel', value: { kind: 'ExitStatus', channelId, exitCode: 1 } });
    await conn.send({ kind: 'Channel', value: { kind: 'Eof', channelId } });
    await conn.send({ kind: 'Channel', value: { kind: 'Close', channelId } });
    await closeChannel(channelId);
  };

  const onChannel = async (m: ChannelMessage): Promise<void> => {
    const known = channels.get(m.channelId);
    switch (m.kind) {
      case 'Open':
        if (m.channelType.kind !== 'Session' || channels.size >= MAX_CHANNELS || known) {
          logger.warn('qssh channel refused', { type: m.channelType.kind, channel: m.channelId, open: channels.size });
          await conn.send({ kind: 'Channel', value: { kind: 'Close', channelId: m.channelId } });
          return;
        }
        channels.set(m.channelId, {});
        await conn.send({ kind: 'Channel', value: { kind: 'Accept', channelId: m.channelId, senderChannel: m.channelId, windowSize: m.windowSize, maxPacketSize: Math.min(m.maxPacketSize, MAX_CHANNEL_DATA) } });
        return;
      case 'SubsystemRequest':
        if (!known) throw new CairnError('QSSH_PROTOCOL_ERROR', `subsystem request on unknown channel ${m.channelId}`);
        if (m.subsystem !== 'sftp' || known.sftp) return refuse(m.channelId, `subsystem ${JSON.stringify(m.subsystem.slice(0, 64))}`);
        known.sftp = {
          server: new SftpServer({ archive, send: (...parts) => conn.sendData(m.channelId, ...parts), logger, ...(metrics ? { metrics } : {}) }),
          reader: new PacketReader(MAX_SFTP_PACKET),
        };
        await conn.sendData(m.channelId, Buffer.of(0));
        return;
      case 'Data': {
        if (!known?.sftp) throw new CairnError('QSSH_PROTOCOL_ERROR', `data on channel ${m.channelId}, which has no SFTP subsystem`);
        known.sftp.reader.push(m.data);
        for (let packet = known.sftp.reader.next(); packet; packet = known.sftp.reader.next()) await known.sftp.server.handle(packet);
        return;
      }
      case 'ShellRequest':
      case 'ExecRequest':
      case 'PtyRequest':
      case 'X11Request':
      case 'ForwardRequest':
      case 'AgentForwardRequest':
        if (!known) throw new CairnError('QSSH_PROTOCOL_ERROR', `${m.kind} on unknown channel ${m.channelId}`);
        return refuse(m.channelId, m.kind === 'ExecRequest' ? 'exec' : m.kind.replace('Request', '').toLowerCase());
      case 'Close':
        if (known) {
          await closeChannel(m.channelId);
          await conn.send({ kind: 'Channel', value: { kind: 'Close', channelId: m.channelId } });
        }
        return;
      case 'Eof':
      case 'WindowAdjust':
      case 'WindowChange':
        return;
      case 'Accept':
      case 'ExitStatus':
      case 'AgentForwardSuccess':
        throw new CairnError('QSSH_PROTOCOL_ERROR', `client sent the server-side channel message ${m.kind}`);
    }
  };

  try {
    for (;;) {
      const { message } = await conn.next();
      if (message.kind === 'Channel') await onChannel(message.value);
      else if (message.kind === 'Disconnect') return { bytesServed };
      else if (message.kind === 'GlobalRequest') {
        logger.warn('qssh request refused', { request: `global ${message.requestType.kind}` });
        if (message.wantReply) await conn.send({ kind: 'GlobalRequestFailure' });
      } else if (message.kind !== 'Version' && message.kind !== 'Pong') {
        throw new CairnError('QSSH_PROTOCOL_ERROR', `unexpected ${message.kind} after the handshake`);
      }
    }
  } finally {
    for (const id of [...channels.keys()]) await closeChannel(id);
  }
}
