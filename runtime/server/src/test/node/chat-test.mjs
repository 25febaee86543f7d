// The official openai npm client against a running `ckv serve`: node chat-test.mjs <baseURL> <model> [apiKey]
// Prints one JSON line per check ({"check": ..., ...}) and exits 0 only if every check passed.
import OpenAI from 'openai';

const [baseURL, model, apiKey = 'unused'] = process.argv.slice(2);
if (!baseURL || !model) {
  console.error('usage: node chat-test.mjs <baseURL> <model> [apiKey]');
  process.exit(2);
}
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 });
const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Name three colours.' },
];
let failures = 0;
function check(name, ok, details) {
  console.log(JSON.stringify({ check: name, ok, ...details }));
  if (!ok) failures++;
}

try {
  const models = await client.models.list();
  const ids = models.data.map((m) => m.id);
  check('models.list', ids.includes(model), { ids });

  const plain = await client.chat.completions.create({ model, messages, max_tokens: 16, temperature: 0 });
  const text = plain.choices[0].message.content;
  check('chat.completions.create', typeof text === 'string' && plain.choices[0].message.role === 'assistant'
      && ['stop', 'length'].includes(plain.choices[0].finish_reason)
      && plain.usage.total_tokens === plain.usage.prompt_tokens + plain.usage.completion_tokens
      && plain.usage.completion_tokens > 0,
      { text, finish_reason: plain.choices[0].finish_reason, usage: plain.usage });

  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 16, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let streamed = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    streamed += choice.delta?.content ?? '';
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  check('chat.completions.create stream', streamed === text && finish === plain.choices[0].finish_reason
      && usage !== null && usage.completion_tokens === plain.usage.completion_tokens,
      { text: streamed, chunks, finish_reason: finish, usage });

  const completion = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
  check('completions.create', typeof completion.choices[0].text === 'string' && completion.usage.completion_tokens > 0,
      { text: completion.choices[0].text, usage: completion.usage });

  try {
    await client.chat.completions.create({ model: 'no-such-model', messages, max_tokens: 4 });
    check('unknown model', false, { error: 'no error' });
  } catch (e) {
    check('unknown model', e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found',
        { status: e.status, code: e.code, message: e.message });
  }
  try {
    await client.chat.completions.create({ model, messages, max_tokens: -1 });
    check('negative max_tokens', false, { error: 'no error' });
  } catch (e) {
    check('negative max_tokens', e instanceof OpenAI.BadRequestError && e.param === 'max_tokens',
        { status: e.status, code: e.code, param: e.param });
  }
} catch (e) {
  check('unexpected error', false, { error: String(e), status: e?.status });
}
process.exit(failures === 0 ? 0 : 1);
