// Every test tier runs on the Node pinned in package.json (the `node` devDependency), never the
// machine's older Node. Failing here makes a wrong runtime impossible to miss.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  throw new Error(`tests must run on Node >= 24 (the project's pinned runtime), got ${process.versions.node}; run them through npm scripts after npm ci`);
}
