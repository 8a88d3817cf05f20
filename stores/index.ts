/**
 * Session stores: the contract and the built-in backends. The common ones are
 * also exported by `countersign`; each backend can be imported alone, e.g.
 * `countersign/stores/file`.
 *
 * @module countersign/stores
 */
export type {
  Lease,
  MachineEnvelope,
  SessionChange,
  SessionChangeListener,
  SessionData,
  SessionInput,
  SessionRecord,
  SessionStore,
  WriteOptions,
} from './contract.js'
export { isSessionStore } from './contract.js'
export { MemoryStore, type MemoryStoreOptions } from './memory.js'
export { FileStore, type FileStoreOptions } from './file.js'
export { acquireFileLock, type FileLock, type FileLockOptions } from './lock.js'
export { TokenStoreAdapter, isTokenStore, toSessionStore, type MaybePromise, type StoreChoiceOptions, type TokenStore } from './token-store.js'
