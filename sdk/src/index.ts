// @coupon-platform/sdk: the REST client (also `@coupon-platform/sdk/rest`)
// and the push client (also `@coupon-platform/sdk/push`).

export * from './rest.js';
export * from './push.js';
