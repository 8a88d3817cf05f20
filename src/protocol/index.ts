/**
 * The protocol driver: one request function and one response check per
 * protocol step. Request functions send and return the raw Response; process
 * functions validate it and return typed data or throw a CountersignError.
 */
export { discover, discoveryRequest, discoveryUrl, processDiscoveryResponse, type WellKnown } from './discovery.js'
export { deviceAuthorizationRequest, processDeviceAuthorizationResponse } from './device-authorization.js'
export {
  DEVICE_CODE_GRANT_TYPE,
  MAX_WAIT_SECONDS,
  deviceCodeGrantRequest,
  processDeviceCodeResponse,
  type DeviceCodeGrantParams,
} from './device-code.js'
export { processRefreshTokenResponse, refreshTokenGrantRequest, type RefreshTokenGrantParams } from './refresh.js'
export { processRevocationResponse, revocationRequest, type RevocationParams } from './revocation.js'
export type {
  AgentIntent,
  DeviceAuthorization,
  DeviceAuthorizationParams,
  PollResult,
  RequestOptions,
  ServerMetadata,
  TokenSet,
  TokenTypeHint,
} from './types.js'
