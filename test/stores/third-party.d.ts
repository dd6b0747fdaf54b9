// Stores written for express-session that ship no types: only what the tests use.
declare module 'connect-sqlite3' {
  import type { EventEmitter } from 'node:events'

  interface SQLiteStore {
    readonly client: EventEmitter
    readonly db: { close(callback?: (err: Error | null) => void): void }
  }
  function connectSqlite3(session: {
    Store: unknown
  }): new (options: {
    db?: string
    table?: string
  }) => SQLiteStore
  export default connectSqlite3
}

declare module 'connect-session-sequelize' {
  import type { Sequelize } from 'sequelize'

  interface SequelizeStore {
    sync(): Promise<unknown>
    clearExpiredSessions(): Promise<unknown>
    stopExpiringSessions(): void
    readonly sessionModel: {
      findOne(options: { where: { sid: string } }): Promise<{ expires: Date } | null>
    }
  }
  function connectSessionSequelize(
    Store: unknown,
  ): new (options: {
    db: Sequelize
    checkExpirationInterval?: number
  }) => SequelizeStore
  export default connectSessionSequelize
}
