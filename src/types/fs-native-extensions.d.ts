// Type declarations for the parts of fs-native-extensions that onelog uses (the package ships none).
declare module 'fs-native-extensions' {
  export interface LockOptions {
    readonly shared?: boolean;
  }
  export function tryLock(fd: number, offset?: number, length?: number, options?: LockOptions): boolean;
  export function unlock(fd: number, offset?: number, length?: number): void;
  export function trimSync(fd: number, offset: number, length: number): void;
}
