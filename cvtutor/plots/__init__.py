"""The book's figures, drawn with matplotlib.

Every function returns the ``matplotlib.figure.Figure`` it drew (or plain data
for the helpers that count), so a notebook shows it and a script can save it
with ``fig.savefig(path)``. One module per part of the book:

- :mod:`cvtutor.plots.images`: image grids, class grids, histograms, milestones (1.1)
- :mod:`cvtutor.plots.concepts`: neurons, layers, receptive fields, attention over images (1.2, 1.3.3)
- :mod:`cvtutor.plots.maps`: feature maps, heat maps, hidden states, log curves, optimisers' paths (1.3.1, 1.3.2, 1.3.4)
- :mod:`cvtutor.plots.training`: curves, confusion matrices, mistakes, predictions (1.4)
- :mod:`cvtutor.plots.features`: filters, feature maps by stage, top-activating images, nearest neighbours (1.4.4)
"""

from cvtutor.plots.images import (  # noqa: F401
    image_grid,
    class_grid,
    channel_histograms,
    milestones,
)

from cvtutor.plots.concepts import (  # noqa: F401
    neuron_diagram,
    matrix_product,
    patch_grid,
    image_as_inputs,
    receptive_field_growth,
    receptive_field_squares,
    attention_overlay,
    attention_maps,
    what_each_layer_sees,
    attention_matrix,
    dot_product_variance,
    softmax_saturation,
)

from cvtutor.plots.maps import (  # noqa: F401
    feature_maps,
    heatmap,
    rows_and_states,
    log_curves,
    optimizer_paths,
)

from cvtutor.plots.training import (  # noqa: F401
    training_curves,
    confusion_counts,
    top_confusions,
    confusion_matrix,
    confident_mistakes,
    most_confident_mistakes,
    predictions_grid,
)

from cvtutor.plots.features import (  # noqa: F401
    filter_banks,
    stage_feature_maps,
    top_activating_grid,
    neighbour_grid,
)
