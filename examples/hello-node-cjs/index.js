// A CommonJS function in Lambda's classic callback style.
// ("type": "commonjs" in package.json keeps index.js CommonJS even if the code
// is unpacked below a directory whose package.json says "type": "module".)
'use strict';

const startedAt = new Date().toISOString();
let invocations = 0;

exports.handler = function (event, context, callback) {
  invocations += 1;
  const name = event && typeof event.name === 'string' && event.name !== '' ? event.name : 'world';
  callback(null, {
    message: `Hello, ${name}!`,
    requestId: context.awsRequestId,
    instanceStartedAt: startedAt,
    invocationsOfThisInstance: invocations,
  });
};
