/**
 * `countersign/server`: the reference approval server, and token verification
 * for resource servers that accept countersign tokens.
 *
 * @module countersign/server
 */
export { createServer, type CountersignServer } from './server.js'
export { serverDefaults, type ServerOptions } from './options.js'
export { verifyAccessToken, type AccessTokenClaims, type VerifyOptions } from './verify.js'
export { createFastifyGuard, createNodeGuard, accessClaimsOf, type GuardOptions } from './guard.js'
