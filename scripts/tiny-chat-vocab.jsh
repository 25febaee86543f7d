// Writes the vocabulary of synthetic:tiny-chat: the Llama 2 SentencePiece vocabulary of
// ../shared/tokenizers/ggml-vocab-llama-spm.gguf (32000 tokens) plus the ChatML control tokens
// <|im_start|> (32000) and <|im_end|> (32001, the end-of-turn token) and a ChatML chat template, as a
// metadata-only GGUF, gzipped, into runtime/model's resources.
// Run from the repository root after building runtime/model:
//   jshell --class-path runtime/model/target/classes scripts/tiny-chat-vocab.jsh
import io.clusterkv.runtime.model.gguf.*;
import java.nio.file.*;
import java.util.zip.*;

var src = GgufFile.open(Path.of("../shared/tokenizers/ggml-vocab-llama-spm.gguf"));
String[] tokens = src.getStringArray("tokenizer.ggml.tokens");
float[] scores = src.getFloatArray("tokenizer.ggml.scores");
int[] types = src.getIntArray("tokenizer.ggml.token_type");
int n = tokens.length;
String[] t2 = java.util.Arrays.copyOf(tokens, n + 2);
t2[n] = "<|im_start|>";
t2[n + 1] = "<|im_end|>";
float[] s2 = java.util.Arrays.copyOf(scores, n + 2);
int[] y2 = java.util.Arrays.copyOf(types, n + 2);
y2[n] = 3;      // CONTROL
y2[n + 1] = 3;
String chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
var w = new GgufWriter().
        put("general.name", GgufValue.of("synthetic:tiny-chat vocabulary (Llama 2 SentencePiece + ChatML)")).
        put("tokenizer.ggml.model", GgufValue.of("llama")).
        put("tokenizer.ggml.pre", GgufValue.of("default")).
        put("tokenizer.ggml.tokens", GgufValue.array(GgufType.STRING, t2)).
        put("tokenizer.ggml.scores", GgufValue.array(GgufType.FLOAT32, s2)).
        put("tokenizer.ggml.token_type", GgufValue.array(GgufType.INT32, y2)).
        put("tokenizer.ggml.bos_token_id", GgufValue.ofInteger(GgufType.UINT32, 1)).
        put("tokenizer.ggml.eos_token_id", GgufValue.ofInteger(GgufType.UINT32, 2)).
        put("tokenizer.ggml.unknown_token_id", GgufValue.ofInteger(GgufType.UINT32, 0)).
        put("tokenizer.ggml.eot_token_id", GgufValue.ofInteger(GgufType.UINT32, n + 1)).
        put("tokenizer.ggml.add_bos_token", new GgufValue(GgufType.BOOL, null, Boolean.TRUE)).
        put("tokenizer.ggml.add_eos_token", new GgufValue(GgufType.BOOL, null, Boolean.FALSE)).
        put("tokenizer.chat_template", GgufValue.of(chatml));
var out = Path.of("runtime/model/src/main/resources/io/clusterkv/runtime/model/tiny-chat-vocab.gguf.gz");
try (var z = new GZIPOutputStream(Files.newOutputStream(out)) { { def.setLevel(9); } }) {
    w.writeTo(z);
}
System.out.println("wrote " + out + " (" + Files.size(out) + " bytes, " + t2.length + " tokens)");
/exit
