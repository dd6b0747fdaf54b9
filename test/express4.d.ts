// `express4` is an npm alias of express@4 used to run the suite on Express 4; its API is the
// same for what the tests use.
declare module 'express4' {
  import express from 'express'
  export default express
}
