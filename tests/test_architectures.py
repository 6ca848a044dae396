"""cvtutor.architectures: the published architectures added up from their configurations equal the
Keras models built without weights, and the counts the reference implementations print."""

import keras
import pytest

from cvtutor import architectures as arch
from cvtutor.flops import multiply_adds
from cvtutor.models import build_vit


def test_vit_equals_build_vit_on_a_small_config_and_at_another_size():
    config = arch.ViTConfig(32, 4, 64, 2, 4, 128)
    for size in (32, 48):
        model = build_vit((size, size, 3), 10, 4, 64, 2, 4, 128)
        cost = arch.vit(config, num_classes=10, image_size=size)
        assert (cost.params, cost.multiply_adds) == (model.count_params(), multiply_adds(model))
    assert arch.vit(config, num_classes=0).params == build_vit((32, 32, 3), 10, 4, 64, 2, 4, 128).count_params() - 650


@pytest.mark.slow
def test_vit_b16_and_resnet50_equal_keras():
    model = build_vit((224, 224, 3), 1000, 16, 768, 12, 12, 3072)
    cost = arch.vit(arch.VIT["ViT-B/16"])
    assert (cost.params, cost.multiply_adds) == (model.count_params(), multiply_adds(model))
    resnet = keras.applications.ResNet50(weights=None)
    cost = arch.resnet(arch.RESNET_BLOCKS["ResNet-50"])
    assert (cost.params, cost.multiply_adds) == (resnet.count_params(), multiply_adds(resnet))


def test_resnet_on_a_small_image_equals_keras():
    model = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)
    cost = arch.resnet(image_size=64, num_classes=10)
    assert (cost.params, cost.multiply_adds) == (model.count_params(), multiply_adds(model))


def test_published_counts():
    # What the reference implementations print (sum of p.numel() for p in model.parameters()):
    # torchvision resnet50, resnet152, fasterrcnn_resnet50_fpn, maskrcnn_resnet50_fpn; timm
    # vit_base_patch16_224 and swin_tiny_patch4_window7_224; OpenAI CLIP ViT-B/16.
    assert arch.resnet(conv_bias=False, batchnorm_params=2).params == 25_557_032
    assert arch.resnet(arch.RESNET_BLOCKS["ResNet-152"], conv_bias=False, batchnorm_params=2).params == 60_192_808
    assert arch.faster_rcnn().params == 41_755_286
    assert arch.mask_rcnn().params == 44_401_393
    assert arch.vit(arch.VIT["ViT-B/16"]).params == 86_567_656
    assert arch.swin().params == 28_288_354
    assert arch.clip()["params"] == 149_620_737
    # The papers' rounded figures: Swin-T 4.5 G FLOPs (multiply-adds), DETR 41 M parameters.
    assert arch.swin().multiply_adds == pytest.approx(4.5e9, rel=0.01)
    assert arch.detr().params == pytest.approx(41e6, rel=0.02)


def test_tokens_and_bad_arguments():
    assert arch.VIT["ViT-L/14"].tokens == 257
    with pytest.raises(TypeError, match="ViTConfig"):
        arch.vit({"width": 768})
    with pytest.raises(ValueError, match="patch_size must divide"):
        arch.vit(arch.VIT["ViT-B/16"], image_size=230)
    with pytest.raises(ValueError, match="batchnorm_params"):
        arch.resnet(batchnorm_params=3)
    with pytest.raises(ValueError, match="blocks"):
        arch.resnet((3, 4, 6))
    with pytest.raises(ValueError, match="not a multiple of window"):
        arch.swin(image_size=256)
