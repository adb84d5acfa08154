// What can go wrong, in the shop's words; door.ts says which refusal each one is.

// InvalidInput: the request or event names something malformed; nothing was done.
export class InvalidInput extends Error {
  constructor(detail: string) {
    super(`invalid input: ${detail}`);
  }
}

// UnknownOrder: the customer has no such order (yet).
export class UnknownOrder extends Error {
  constructor(customerId: string, orderId: string) {
    super(`${customerId}'s order ${orderId}: unknown order`);
  }
}

// Unavailable: the store could not be reached or answered nonsense; trying again may work.
export class Unavailable extends Error {
  constructor(cause: unknown) {
    super(`store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

// NoToken, InvalidToken and Forbidden: who may do what (auth.ts).
export class NoToken extends Error {
  constructor() {
    super("no bearer token");
  }
}
export class InvalidToken extends Error {}
export class Forbidden extends Error {}
