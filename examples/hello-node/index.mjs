// The smallest useful function: an async ES module handler.
// Invoke with {"name": "you"}.
export const handler = async (event, context) => {
  const name = typeof event?.name === 'string' && event.name !== '' ? event.name : 'world';
  return {
    message: `Hello, ${name}!`,
    requestId: context.awsRequestId,
    runtime: `node ${process.versions.node}`,
  };
};
