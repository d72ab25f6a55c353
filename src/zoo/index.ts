// The model zoo: small models built in code with seeded weights, shared by tests, the conformance
// suite and benchmarks.
export { mlp, mlpBeyondL3, L3_EXCEEDING_MLP_SIZES, type MlpOptions } from './mlp.js';
export { bertEncoder, type BertOptions } from './bert-encoder.js';
export { resnetCnn, type ResnetOptions } from './resnet-cnn.js';
export { mobilenetV3, type MobilenetOptions, type MobilenetBlock } from './mobilenet-v3.js';
export { zooModels, exporterZoo, randomFeeds, entryFeeds, type ZooEntry, type FixedInput, type AnyFeeds } from './catalog.js';
export { vadRecurrent, type VadOptions } from './vad-recurrent.js';
export { tfNhwcCnn, type TfNhwcOptions } from './tf-nhwc-cnn.js';
export { torchResnet, type TorchResnetOptions } from './torch-resnet.js';
export { sigmoidClassifier, type SigmoidClassifierOptions } from './sigmoid-classifier.js';
export { segmentationNet, type SegmentationOptions } from './segmentation-net.js';
export { rng, normal, randn } from './rng.js';
