// A Lua script imported from src/redis/scripts/: the build inlines its text (esbuild's `text`
// loader), so nothing reads a file at run time.
declare module '*.lua' {
  const source: string;
  export default source;
}
