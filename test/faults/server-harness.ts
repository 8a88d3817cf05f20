/**
 * The fault suite's server process: `countersign serve` as a child process on
 * a fixed data file and port, killed with SIGKILL and started again on both,
 * at chosen or random moments. The first start may take port 0; every
 * restart takes the port that start got.
 */
import { CLI, startChild, type Child } from '../support/process.js'

export interface ServerSettings {
  dataFile: string
  /** The base URL the server names itself by (the fault proxy in front of it). */
  issuer: string
  /** Further `serve` options, such as ['--access-ttl', '3']. */
  args?: string[]
  port?: number
}

export interface ServerProcess {
  /** Where the server itself listens, http://127.0.0.1:<port>. */
  readonly address: string
  readonly up: boolean
  /** kill -9, and wait until the process is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port and data file (after a kill). */
  restart(): Promise<void>
  /** Stops it for good (kill -9 as well: nothing of the server's shutdown is relied on). */
  dispose(): Promise<void>
}

const ADDRESS = /^\s+address:\s+(http:\/\/\S+)$/

export async function startServerProcess(settings: ServerSettings): Promise<ServerProcess> {
  let port = settings.port ?? 0
  let child: Child | null = null
  const launch = async () => {
    const started = startChild(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--data', settings.dataFile, '--issuer', settings.issuer, ...(settings.args ?? [])])
    child = started
    try {
      const [, address] = await started.waitForLine(ADDRESS, 20_000)
      port = Number(new URL(address!).port)
    } catch (error) {
      started.process.kill('SIGKILL')
      throw error
    }
  }
  const alive = () => child !== null && child.process.exitCode === null && child.process.signalCode === null
  const kill = async () => {
    const current = child
    if (current === null) return
    if (alive()) current.process.kill('SIGKILL')
    await current.exited
  }
  await launch()
  return {
    get address() {
      return `http://127.0.0.1:${port}`
    },
    get up() {
      return alive()
    },
    kill,
    async restart() {
      await kill()
      // A port just freed can be refused for a moment on a busy machine: try a few times.
      for (let attempt = 0; ; attempt++) {
        try {
          return await launch()
        } catch (error) {
          if (attempt >= 4) throw error
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
      }
    },
    dispose: kill,
  }
}

export interface Outage {
  /** When the kill was sent. */
  killedAt: number
  /** When the restarted server printed its address (listening again). */
  upAt: number
}

export interface RandomKiller {
  readonly outages: Outage[]
  /** Stops killing; resolves once the server is up again. */
  stop(): Promise<void>
}

/** Kills the server after a random `upMs`, keeps it down a random `downMs`, restarts it, and again, until stopped. */
export function killAtRandom(server: ServerProcess, random: () => number, timing: { upMs: [number, number]; downMs: [number, number] }): RandomKiller {
  const outages: Outage[] = []
  let stopped = false
  let wake: () => void = () => {}
  const pick = ([low, high]: [number, number]) => low + random() * (high - low)
  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    wake = () => (clearTimeout(timer), resolve())
  })
  const loop = (async () => {
    for (;;) {
      await sleep(pick(timing.upMs))
      if (stopped) return
      const killedAt = Date.now()
      await server.kill()
      await new Promise((resolve) => setTimeout(resolve, pick(timing.downMs)))
      await server.restart()
      outages.push({ killedAt, upAt: Date.now() })
    }
  })()
  return {
    outages,
    async stop() {
      stopped = true
      wake()
      await loop
    },
  }
}
