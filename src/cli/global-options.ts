/** The options every command takes, read with `command.optsWithGlobals<GlobalOptions>()`. */
export interface GlobalOptions {
  json?: boolean
  verbose?: boolean
}
