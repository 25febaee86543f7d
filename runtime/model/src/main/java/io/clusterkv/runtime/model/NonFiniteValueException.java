package io.clusterkv.runtime.model;

/**
 * A layer's output (the residual stream after it) holds a NaN or an infinity: the model's weights, or
 * what attention gave the layer, are not usable. Decoding stops here instead of sampling from
 * meaningless logits.
 */
public final class NonFiniteValueException extends ArithmeticException {

    private static final long serialVersionUID = 1L;

    private final transient String model;
    private final int layer;
    private final int position;

    /**
     * @param model    the model's source, for the message
     * @param layer    the layer whose output is not finite
     * @param position the (first) position being computed
     */
    public NonFiniteValueException(String model, int layer, int position) {
        super(model + ": layer " + layer + " gave a non-finite hidden state (NaN or infinity) at position "
                + position + "; the model's weights (or its inputs) are not usable");
        this.model = model;
        this.layer = layer;
        this.position = position;
    }

    /** @return the model's source */
    public String model() {
        return model;
    }

    /** @return the layer whose output is not finite */
    public int layer() {
        return layer;
    }

    /** @return the position being computed (the first of a prompt chunk) */
    public int position() {
        return position;
    }
}
