import 'reflect-metadata';
import { main } from './main';

// `certctl … | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

void main(process.argv).then((code) => {
  process.exitCode = code;
});
