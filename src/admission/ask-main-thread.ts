// A worker thread's synchronous question to the main thread. A large AdmissionReview is parsed in a
// worker only (parsing it on the event loop too cost as much as the worker's whole job), but what the
// rules need to know about its namespace, isolation, comes from the caches of the main thread: the
// worker asks once it has parsed the request, blocks until the answer arrives, and goes on. The main
// thread answers from its event loop, which the worker leaves free.
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";

/** The worker's end: a port to ask on, and a flag the main thread raises once it has answered. */
export interface AskChannel {
  port: MessagePort;
  answered: Int32Array;
}

/** Long enough for a main thread under load; a lost answer must still end the request. */
const ASK_TIMEOUT_MS = 10_000;

/** Asks the main thread `question` and waits for its answer (worker side). */
export function askMainThread<Q, A>(channel: AskChannel, question: Q): A {
  channel.port.postMessage(question);
  const waited = Atomics.wait(channel.answered, 0, 0, ASK_TIMEOUT_MS);
  const reply = receiveMessageOnPort(channel.port) as { message: { answer: A } | { error: string } } | undefined;
  if (waited === "timed-out" || reply === undefined)
    throw new Error(`the main thread did not answer within ${ASK_TIMEOUT_MS} ms`);
  if ("error" in reply.message) throw new Error(`the main thread could not answer: ${reply.message.error}`);
  return reply.message.answer;
}

/** Answers each question on `port` with `answer` (main-thread side); the caller closes the port. */
export function answerQuestions<Q, A>(port: MessagePort, answered: Int32Array, answer: (question: Q) => A): void {
  port.on("message", (question: Q) => {
    let reply: { answer: A } | { error: string };
    try {
      reply = { answer: answer(question) };
    } catch (error) {
      reply = { error: (error as Error)?.message ?? String(error) };
    }
    port.postMessage(reply);
    Atomics.store(answered, 0, 1);
    Atomics.notify(answered, 0);
  });
}
